// The case's BPMN diagram, finished steps green, the current step amber (bpmn-js viewer).
// A process a call activity runs now (备案审查) is drawn below the case's own, marked the same way.
(function () {
  "use strict";

  function draw(box) {
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
  }

  if (!window.BpmnJS) { return; }
  document.querySelectorAll(".diagram").forEach(draw);
})();
