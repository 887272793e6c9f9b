// Behaviour the portal's markup asks for with data attributes (no inline handlers: the production
// Content-Security-Policy allows scripts from this site only).
//   <select data-autosubmit>       submits its form when changed
//   <form data-confirm="…">         asks before submitting
//   <button data-confirm="…">       asks before its click submits
(function () {
  document.addEventListener("change", (event) => {
    const select = event.target.closest && event.target.closest("select[data-autosubmit]");
    if (!select || !select.form) return;
    if (select.form.requestSubmit) select.form.requestSubmit();
    else select.form.submit();
  });
  document.addEventListener("click", (event) => {
    const button = event.target.closest && event.target.closest("button[data-confirm]");
    if (button && !window.confirm(button.dataset.confirm)) event.preventDefault();
  });
  document.addEventListener("submit", (event) => {
    const form = event.target;
    if (form.dataset && form.dataset.confirm && !window.confirm(form.dataset.confirm)) event.preventDefault();
  }, true);
})();
