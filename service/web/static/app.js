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

  // 常用语: clicking a common phrase puts it into the opinion where the cursor is.
  document.querySelectorAll("[data-phrases-for]").forEach(function (el) { el.hidden = false; });
  document.addEventListener("click", function (event) {
    var phrase = event.target.closest("[data-phrase]");
    if (!phrase) { return; }
    var area = phrase.closest("form").querySelector("[name='" + phrase.parentNode.dataset.phrasesFor + "']");
    area.setRangeText(phrase.dataset.phrase, area.selectionStart, area.selectionEnd, "end");
    area.focus();
  });

  // Files upload one at a time, as each is chosen (POST /api/attachments); the form then posts only
  // the attachment's id, so the limit is the file's own. Without JavaScript the file goes with the form.
  function uploadError(field, status, message) {
    status.textContent = message;
    status.classList.add("error-text");
    field.classList.add("has-error");
  }
  document.addEventListener("change", function (event) {
    var input = event.target;
    if (!input.matches("input[type=file][data-upload]") || !input.files.length) { return; }
    var form = input.closest("form");
    var field = input.closest(".field");
    var status = input.parentNode.querySelector("[data-upload-status]");
    var file = input.files[0];
    var max = Number(input.dataset.maxBytes);
    status.classList.remove("error-text");
    field.classList.remove("has-error");
    input.value = "";  // sent here, never again with the form
    if (file.size > max) {
      uploadError(field, status, "文件“" + file.name + "”有" + (file.size / 1048576).toFixed(1) +
        "MB，超过单个文件" + Math.round(max / 1048576) + "MB的上限，请压缩或拆分后重新选择");
      return;
    }
    var body = new FormData();
    body.append("file", file);
    status.textContent = "正在上传“" + file.name + "”……";
    form.dataset.uploading = String(Number(form.dataset.uploading || 0) + 1);
    fetch("/api/attachments", {method: "POST", body: body, credentials: "same-origin",
      headers: {"X-CSRFToken": form.querySelector("[name=csrf_token]").value}})
      .then(function (response) {
        return response.json().catch(function () { return {}; }).then(function (answer) {
          if (!response.ok) {
            throw new Error((answer.errors && answer.errors.file) || answer.message || "上传失败，请重新选择文件");
          }
          form.querySelector("input[type=hidden][name='" + input.dataset.upload + "']").value = answer.id;
          var link = document.createElement("a");
          link.href = "/api/attachments/" + answer.id;
          link.textContent = file.name;
          var uploaded = input.parentNode.querySelector("[data-uploaded]");
          uploaded.replaceChildren(link, document.createTextNode(" · 重新上传："));
          status.textContent = "已上传";
        });
      })
      .catch(function (error) {
        uploadError(field, status, error instanceof TypeError ? "上传失败，请检查网络后重新选择文件" : error.message);
      })
      .finally(function () {
        form.dataset.uploading = String(Number(form.dataset.uploading) - 1);
        var note = form.querySelector("[data-wait-upload]");
        if (note && form.dataset.uploading === "0") { note.remove(); }
      });
  });
  // A form is not sent while one of its files is still on its way.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (Number(form.dataset.uploading || 0) > 0) {
      event.preventDefault();
      event.stopImmediatePropagation();
      var note = form.querySelector("[data-wait-upload]") || document.createElement("span");
      note.dataset.waitUpload = "1";
      note.className = "error-text";
      note.textContent = "附件正在上传，请上传完成后再提交";
      (event.submitter || form.lastElementChild).after(note);
    }
  }, true);

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
