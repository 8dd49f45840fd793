// The option picker of conditions and skip rules: show only the options of the question picked in the
// same row. Without this script every question's options are shown and the form refuses a wrong one.
(function () {
  "use strict";

  function questionSelect(picker) {
    var row = picker.closest("tr") || picker.closest(".inline-related") || picker.parentElement;
    var field = picker.getAttribute("data-question-field");
    return row ? row.querySelector('select[name$="-' + field + '"]') : null;
  }

  function showChosenQuestion(picker) {
    var select = questionSelect(picker);
    var chosen = select ? select.value : "";
    picker.querySelectorAll("fieldset.option-group").forEach(function (group) {
      group.hidden = chosen !== "" && group.getAttribute("data-question") !== chosen;
    });
  }

  function showAll(root) {
    root.querySelectorAll(".option-picker").forEach(showChosenQuestion);
  }

  document.addEventListener("change", function (event) {
    var target = event.target;
    if (!(target instanceof HTMLSelectElement)) {
      return;
    }
    var row = target.closest("tr") || target.closest(".inline-related");
    if (row) {
      showAll(row);
    }
  });
  // A row added with "Add another" arrives with Django's formset:added event.
  document.addEventListener("formset:added", function (event) {
    showAll(event.target instanceof Element ? event.target : document);
  });
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () { showAll(document); });
  } else {
    showAll(document);
  }
})();
