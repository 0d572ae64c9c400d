/* The flow page's Alerts show, for each alert, only the section of its channel
   (e-mail, webhook or Python callable): all of them without JavaScript, and the
   server ignores the fields of the other channels either way. Read-only viewers
   see the channel as text; its label names the section to keep. */
"use strict";
(function () {
  const SECTIONS = ["email", "webhook", "callable"];

  function channelOf(alert) {
    const select = alert.querySelector("select[name$='-channel']");
    if (select) { return select.value; }
    const text = alert.querySelector(".field-channel .readonly");
    if (!text) { return ""; }
    const label = text.textContent.trim().toLowerCase();
    return { "e-mail": "email", "webhook": "webhook", "python callable": "callable" }[label] || "";
  }

  function show(alert) {
    const channel = channelOf(alert);
    SECTIONS.forEach(function (section) {
      alert.querySelectorAll("fieldset.ff-alert-" + section).forEach(function (fieldset) {
        fieldset.hidden = Boolean(channel) && channel !== section;
      });
    });
  }

  function watch(alert) {
    const select = alert.querySelector("select[name$='-channel']");
    if (select) { select.addEventListener("change", function () { show(alert); }); }
    show(alert);
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll(".ff-alerts .inline-related").forEach(watch);
  });
  // A new alert ("Add another Alert"): Django's inlines.js sends this event with the new form.
  document.addEventListener("formset:added", function (event) {
    if (event.target.closest && event.target.closest(".ff-alerts")) { watch(event.target); }
  });
})();
