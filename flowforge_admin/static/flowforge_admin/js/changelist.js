/*
 * The app's change lists: when the table is wider than its frame (long names, a narrow
 * window), say so above it and shade the edges with more columns beyond, so that no column
 * is cut off without a sign. The frame then takes the keyboard focus, for arrow keys.
 */
(function () {
  "use strict";

  const frame = document.querySelector("#changelist-form .results");
  if (!frame) return;
  const hint = document.createElement("p");
  hint.id = "ff-scroll-hint";
  hint.className = "ff-scroll-hint";
  hint.textContent = "More columns to the right: scroll the list sideways \u2192";
  hint.hidden = true;
  frame.before(hint);

  function update() {
    const overflows = frame.scrollWidth > frame.clientWidth + 1;
    const left = frame.scrollLeft > 1;
    const right = frame.scrollLeft + frame.clientWidth < frame.scrollWidth - 1;
    hint.hidden = !overflows;
    hint.textContent = right
      ? "More columns to the right: scroll the list sideways \u2192"
      : "\u2190 More columns to the left: scroll the list sideways";
    frame.classList.toggle("ff-scrolls", overflows);
    frame.classList.toggle("ff-more-left", overflows && left);
    frame.classList.toggle("ff-more-right", overflows && right);
    if (overflows) {
      frame.tabIndex = 0;
      frame.setAttribute("aria-describedby", hint.id);
    } else {
      frame.removeAttribute("tabindex");
      frame.removeAttribute("aria-describedby");
    }
  }

  frame.addEventListener("scroll", update, { passive: true });
  const observer = new ResizeObserver(update);
  observer.observe(frame);
  const table = frame.querySelector("table");
  if (table) observer.observe(table);
  update();
})();
