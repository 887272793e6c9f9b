// Booking form: show only the fields that apply to the chosen kind, slice shape and billing mode.
// Without JavaScript every field stays visible and the server validates the same rules.
(function () {
  "use strict";
  const form = document.getElementById("booking-form");
  if (!form) return;
  function selected(name) {
    const checked = form.querySelector('input[name="' + name + '"]:checked');
    return checked ? checked.value : "";
  }
  function sync() {
    form.querySelectorAll("[data-show-when]").forEach(function (el) {
      const [name, value] = el.dataset.showWhen.split("=");
      el.hidden = selected(name) !== value;
    });
  }
  form.addEventListener("change", sync);
  sync();
})();
