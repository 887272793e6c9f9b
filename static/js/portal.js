// Behaviour the portal's markup asks for with data attributes (no inline handlers: the production
// Content-Security-Policy allows scripts from this site only).
//   <select data-autosubmit>       submits its form when changed
//   <form data-confirm="…">         asks before submitting
//   <button data-confirm="…">       asks before its click submits
//   <button data-copy="ID" data-copied="…">  copies the text of element ID, then says so for a moment
(function () {
  document.addEventListener("click", (event) => {
    const button = event.target.closest && event.target.closest("button[data-copy]");
    if (!button) return;
    const source = document.getElementById(button.dataset.copy);
    if (!source) return;
    const text = source.textContent.trim();
    const done = () => {
      const label = button.textContent;
      button.textContent = button.dataset.copied || label;
      button.classList.add("copied");
      setTimeout(() => { button.textContent = label; button.classList.remove("copied"); }, 1500);
    };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(done, () => {});
    } else {  // plain http (a local run): select it and use the legacy copy command
      const range = document.createRange();
      range.selectNodeContents(source);
      const selection = window.getSelection();
      selection.removeAllRanges();
      selection.addRange(range);
      if (document.execCommand("copy")) done();
    }
  });
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
