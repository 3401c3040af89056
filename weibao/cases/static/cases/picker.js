// Search pickers (cases/widgets/search_picker.html): the chosen match moves out of the results, so a new
// search keeps it; a single choice (radio) replaces the one before and closes the search, several choices
// (checkboxes: the children of a new case) add up, and an unticked one is left out; "clear" drops them.
(function () {
  function sync(picker) {
    var clear = picker.querySelector("[data-picker-clear]");
    if (clear) { clear.hidden = !picker.querySelector("[data-picker-chosen] input:checked"); }
  }
  document.addEventListener("change", function (e) {
    var picker = e.target.closest("[data-picker]");
    if (!picker || e.target.type === "search") { return; }
    var results = e.target.closest("[data-picker-results]");
    var chosen = picker.querySelector("[data-picker-chosen]");
    if (results && e.target.checked && e.target.type === "radio") {
      chosen.replaceChildren();
      chosen.appendChild(e.target.closest("label"));
      results.replaceChildren();
      picker.querySelector("input[type=search]").value = "";
    } else if (results && e.target.checked) {
      // found again: tick the chosen row rather than post the same row twice
      var same = Array.prototype.find.call(chosen.querySelectorAll("input"), function (i) { return i.value === e.target.value; });
      if (same) {
        same.checked = true;
        e.target.closest("label").remove();
      } else {
        chosen.appendChild(e.target.closest("label"));
      }
    }
    sync(picker);
  });
  document.addEventListener("click", function (e) {
    var clear = e.target.closest("[data-picker-clear]");
    if (!clear) { return; }
    var picker = clear.closest("[data-picker]");
    picker.querySelector("[data-picker-chosen]").replaceChildren();
    sync(picker);
    picker.querySelector("input[type=search]").focus();
  });
  // Enter in the search box must not post the form; it searches at once instead. Chromium fires the
  // "search" event (htmx's trigger) only when the keydown goes on, so it is fired here.
  document.addEventListener("keydown", function (e) {
    if (e.key === "Enter" && e.target.matches("[data-picker] input[type=search]")) {
      e.preventDefault();
      if (!e.isComposing) { e.target.dispatchEvent(new Event("search")); }
    }
  });
})();
