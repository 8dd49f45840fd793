// Progressive enhancement only: every page works without this file.
(function () {
  "use strict";

  // After htmx swaps a page region, move keyboard focus to its heading (or its error summary),
  // so screen reader and keyboard users land on the new question.
  document.addEventListener("htmx:afterSettle", function (event) {
    var region = event.detail.target;
    if (!region || region.id !== "main") return;
    var target = region.querySelector("[data-focus-on-swap]") || region;
    target.focus({ preventScroll: true });
    window.scrollTo(0, 0);
  });

  // When htmx cannot reach the server or the server fails, fall back to an ordinary page load.
  function fallBack(event) {
    var elt = event.detail.elt;
    if (elt && elt.tagName === "FORM") {
      elt.removeAttribute("hx-post");
      elt.submit();
    } else if (event.detail.pathInfo && event.detail.pathInfo.requestPath) {
      window.location.href = event.detail.pathInfo.requestPath;
    }
  }
  document.addEventListener("htmx:sendError", fallBack);
  document.addEventListener("htmx:responseError", fallBack);

  // "None of these" excludes the question's other options, and the other options exclude it.
  document.addEventListener("change", function (event) {
    var input = event.target;
    if (!(input instanceof HTMLInputElement) || input.type !== "checkbox" || !input.checked) return;
    var group = document.querySelectorAll('input[type="checkbox"][name="' + CSS.escape(input.name) + '"]');
    group.forEach(function (other) {
      if (other === input) return;
      if (input.hasAttribute("data-exclusive") || other.hasAttribute("data-exclusive")) other.checked = false;
    });
  });

  // Print buttons call the browser's print dialog; without JavaScript, their link still works.
  function showPrintButtons() {
    document.querySelectorAll("button[data-print]").forEach(function (button) { button.hidden = false; });
  }
  document.addEventListener("click", function (event) {
    var trigger = event.target.closest && event.target.closest("button[data-print]");
    if (trigger) { event.preventDefault(); window.print(); }
  });
  document.addEventListener("DOMContentLoaded", showPrintButtons);
  document.addEventListener("htmx:afterSettle", showPrintButtons);
})();
