// Search pickers (cases/widgets/search_picker.html): the chosen match moves out of the results, so a new
// search keeps it; a single choice replaces the one before and closes the search; "clear" drops it.
(function () {
  function sync(picker) {
    var clear = picker.querySelector("[data-picker-clear]");
    if (clear) { clear.hidden = !picker.querySelector("[data-picker-chosen] input:checked"); }
  }
  document.addEventListener("change", function (e) {
    var results = e.target.closest("[data-picker-results]");
    if (!results || !e.target.checked) { return; }
    var picker = results.closest("[data-picker]");
    var chosen = picker.querySelector("[data-picker-chosen]");
    if (e.target.type === "radio") {
      chosen.replaceChildren();
      chosen.appendChild(e.target.closest("label"));
      results.replaceChildren();
      picker.querySelector("input[type=search]").value = "";
    } else {
      chosen.appendChild(e.target.closest("label"));
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
  // Enter in the search box searches at once (htmx's "search" event); it must not post the form.
  document.addEventListener("keydown", function (e) {
    if (e.key === "Enter" && e.target.matches("[data-picker] input[type=search]")) { e.preventDefault(); }
  });
})();
