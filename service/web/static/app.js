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

  // Large files (a candidate list, an exam video): the upload's progress is shown while it goes,
  // then that the server is checking it; its answer replaces the page as a plain submit's would.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.matches("form[data-progress]") || event.defaultPrevented || !window.XMLHttpRequest) { return; }
    event.preventDefault();
    var status = form.querySelector("[data-progress-status]");
    var xhr = new XMLHttpRequest();
    xhr.open("POST", form.action);
    xhr.upload.onprogress = function (e) {
      if (!e.lengthComputable) { return; }
      var mb = function (n) { return (n / 1048576).toFixed(1) + " MB"; };
      status.textContent = "上传中 " + Math.round(e.loaded / e.total * 100) + "%（" + mb(e.loaded) + " / " + mb(e.total) + "）";
    };
    xhr.upload.onload = function () { status.textContent = form.dataset.progress; };
    xhr.onerror = function () {
      status.textContent = "上传中断，请检查网络后重试";
      delete form.dataset.sent;
    };
    xhr.onload = function () {
      history.replaceState(null, "", xhr.responseURL);
      document.open();
      document.write(xhr.responseText);
      document.close();
    };
    xhr.send(new FormData(form));
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
          var parts = [link];
          if (/\.(pdf|png|jpe?g)$/i.test(file.name)) {  // shown in the browser (the server checks the type)
            var preview = document.createElement("a");
            preview.href = link.href + "?inline=1";
            preview.target = "_blank";
            preview.rel = "noopener";
            preview.className = "preview";
            preview.textContent = "预览";
            parts.push(document.createTextNode(" "), preview);
          }
          var uploaded = input.parentNode.querySelector("[data-uploaded]");
          uploaded.replaceChildren.apply(uploaded, parts.concat([document.createTextNode(" · 重新上传：")]));
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

  occupationPicker();

  // The occupation picker (Art. 4, 8.2, 9.2): offers only the occupations that may be filed, found by
  // code or by name as one types ("电工", "6-31", "63101"); our own list, since a browser's datalist
  // matches the code only. The catalogue is fetched once, when an occupation field is first used.
  function occupationPicker() {
    var catalogue = null;
    var list = null;  // the open suggestion list, under one input
    var FIELD = "input[list=occupations], input[data-occupation-picker]";

    function items() {
      catalogue = catalogue || fetch("/reference/occupations.json").then(function (r) { return r.json(); });
      return catalogue;
    }

    function matching(all, text) {
      var query = text.trim().toLowerCase();
      var digits = query.replace(/[^0-9]/g, "");
      if (!query) { return []; }
      return all.filter(function (o) {
        return o.name.toLowerCase().indexOf(query) !== -1 || o.code.indexOf(query) === 0 ||
          (digits.length > 1 && digits === query.replace(/-/g, "") && o.code.replace(/-/g, "").indexOf(digits) === 0);
      }).slice(0, 30);
    }

    function close() {
      if (!list) { return; }
      list.input.setAttribute("aria-expanded", "false");
      list.input.removeAttribute("aria-activedescendant");
      list.remove();
      list = null;
    }

    function choose(option) {
      var input = list.input;
      input.value = option.dataset.code;
      close();
      input.dispatchEvent(new Event("change", { bubbles: true }));
    }

    function highlight(step) {
      var options = list.querySelectorAll("[role=option]");
      if (!options.length) { return; }
      var index = (Number(list.dataset.active || -1) + step + options.length) % options.length;
      options.forEach(function (o, i) { o.setAttribute("aria-selected", String(i === index)); });
      list.dataset.active = String(index);
      list.input.setAttribute("aria-activedescendant", options[index].id);
      options[index].scrollIntoView({ block: "nearest" });
    }

    function show(input, found) {
      close();
      list = document.createElement("ul");
      list.className = "occupation-picker";
      list.id = "occupation-picker";
      list.setAttribute("role", "listbox");
      list.input = input;
      found.forEach(function (o, i) {
        var option = document.createElement("li");
        option.id = "occupation-option-" + i;
        option.setAttribute("role", "option");
        option.dataset.code = o.code;
        option.textContent = o.code + " " + o.name;
        list.appendChild(option);
      });
      if (!found.length) {
        var none = document.createElement("li");
        none.className = "muted";
        none.textContent = "没有可备案的职业（工种）与“" + input.value.trim() + "”相符";
        list.appendChild(none);
      }
      var box = input.getBoundingClientRect();
      list.style.left = (box.left + window.scrollX) + "px";
      list.style.top = (box.bottom + window.scrollY) + "px";
      list.style.minWidth = box.width + "px";
      document.body.appendChild(list);
      input.setAttribute("aria-expanded", "true");
      input.setAttribute("aria-controls", list.id);
    }

    document.addEventListener("focusin", function (event) {
      var input = event.target;
      if (!input.matches || !input.matches(FIELD)) { return; }
      // ours instead of the browser's datalist popup
      input.dataset.occupationPicker = "1";
      input.removeAttribute("list");
      input.setAttribute("autocomplete", "off");
      input.setAttribute("role", "combobox");
      input.setAttribute("aria-autocomplete", "list");
      items();
    });

    document.addEventListener("input", function (event) {
      var input = event.target;
      if (!input.matches || !input.matches("input[data-occupation-picker]")) { return; }
      items().then(function (all) {
        if (document.activeElement !== input) { return; }
        if (input.value.trim()) { show(input, matching(all, input.value)); } else { close(); }
      });
    });

    document.addEventListener("keydown", function (event) {
      if (!list || event.target !== list.input) { return; }
      if (event.key === "ArrowDown" || event.key === "ArrowUp") {
        event.preventDefault();
        highlight(event.key === "ArrowDown" ? 1 : -1);
      } else if (event.key === "Enter" && list.dataset.active) {
        event.preventDefault();
        choose(list.querySelectorAll("[role=option]")[Number(list.dataset.active)]);
      } else if (event.key === "Escape") {
        close();
      }
    });

    // mousedown, not click: the input's blur would close the list before a click arrives
    document.addEventListener("mousedown", function (event) {
      if (!list) { return; }
      var option = event.target.closest(".occupation-picker [role=option]");
      if (option) { event.preventDefault(); choose(option); } else if (!event.target.closest(".occupation-picker")) { close(); }
    });
    document.addEventListener("focusout", function (event) {
      if (list && event.target === list.input) { close(); }
    });
  }
})();
