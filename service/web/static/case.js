// The case's BPMN diagram, finished steps green, the current step amber (bpmn-js viewer).
(function () {
  "use strict";
  var box = document.getElementById("diagram");
  if (!box || !window.BpmnJS) { return; }
  var viewer = new window.BpmnJS({ container: box });
  fetch(box.dataset.src, { credentials: "same-origin" })
    .then(function (response) { return response.text(); })
    .then(function (xml) { return viewer.importXML(xml); })
    .then(function () {
      var canvas = viewer.get("canvas");
      var registry = viewer.get("elementRegistry");
      function mark(ids, css) {
        JSON.parse(ids).forEach(function (id) { if (registry.get(id)) { canvas.addMarker(id, css); } });
      }
      mark(box.dataset.done, "done");
      mark(box.dataset.current, "current");
      canvas.zoom("fit-viewport");
      box.dataset.rendered = "1";
    })
    .catch(function (error) { box.textContent = "流程图无法显示：" + error.message; });
})();
