// The little the pages need from the browser; everything works without it except adding rows.
(function () {
  "use strict";

  // A form is sent once: a second click while the first is on its way does nothing.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form.dataset.sent) { event.preventDefault(); return; }
    form.dataset.sent = "1";
    setTimeout(function () { delete form.dataset.sent; }, 8000);
  });

  // Tables of rows (a scope, a candidate list): add a row from the template, remove a row.
  document.addEventListener("click", function (event) {
    var add = event.target.closest("[data-add-row]");
    if (add) {
      var table = document.getElementById(add.dataset.addRow);
      var body = table.querySelector("tbody");
      var next = Number(table.dataset.next || body.rows.length);
      var html = table.querySelector("template").innerHTML.replace(/__i__/g, String(next));
      body.insertAdjacentHTML("beforeend", html);
      table.dataset.next = String(next + 1);
    }
    var remove = event.target.closest("[data-remove-row]");
    if (remove) { remove.closest("tr").remove(); }
    var print = event.target.closest("[data-print]");
    if (print) { window.print(); }
  });

  // Fields that apply to one kind of institution only (x-ui show_when).
  function applyShowWhen() {
    document.querySelectorAll("[data-show-when]").forEach(function (el) {
      var rule = JSON.parse(el.dataset.showWhen);
      var form = el.closest("form");
      var shown = Object.keys(rule).every(function (name) {
        var input = form.querySelector("[name='" + name + "']:checked, select[name='" + name + "'], input[type=hidden][name='" + name + "']");
        return !input || !input.value || rule[name].indexOf(input.value) >= 0;
      });
      el.hidden = !shown;
    });
  }
  document.addEventListener("change", applyShowWhen);
  applyShowWhen();

  // Occupation codes: suggestions from the catalogue, fetched once when first needed.
  var occupations = null;
  document.addEventListener("focusin", function (event) {
    if (!event.target.matches("input[list=occupations]") || occupations) { return; }
    occupations = fetch("/reference/occupations.json").then(function (r) { return r.json(); }).then(function (items) {
      var list = document.getElementById("occupations");
      list.innerHTML = items.map(function (o) {
        return "<option value=\"" + o.code + "\">" + o.code + " " + o.name.replace(/[<&"]/g, "") + "</option>";
      }).join("");
    });
  });
})();
