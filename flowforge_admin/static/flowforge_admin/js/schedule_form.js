/* The schedule form shows only the fields of the chosen kind (all of them
   without JavaScript; the server ignores the others either way). */
"use strict";
(function () {
  const FIELDS = {
    cron: ["cron"],
    minutes: ["every_minutes"],
    hourly: ["at_time"],
    daily: ["at_time"],
    weekly: ["at_time", "weekday"],
    monthly: ["at_time", "day_of_month"],
    once: ["run_at"],
  };
  const ALL = ["cron", "every_minutes", "at_time", "weekday", "day_of_month", "run_at"];

  function show(kind) {
    const wanted = FIELDS[kind] || ALL;
    ALL.forEach(function (name) {
      const row = document.querySelector(".form-row.field-" + name);
      if (row) { row.hidden = !wanted.includes(name); }
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    const inputs = document.querySelectorAll("input[name='kind']");
    if (!inputs.length) { return; }
    inputs.forEach(function (input) {
      input.addEventListener("change", function () { show(input.value); });
    });
    const checked = document.querySelector("input[name='kind']:checked");
    show(checked ? checked.value : "");
  });
})();
