// A form with data-confirm="question" is submitted only once the person says OK. A listener in
// a static file, not an inline onsubmit="…": the Content-Security-Policy runs no inline code.
(function () {
  "use strict";
  document.addEventListener("submit", function (event) {
    const form = event.target;
    if (!(form instanceof HTMLFormElement) || form.dataset.confirm === undefined) return;
    if (!window.confirm(form.dataset.confirm)) event.preventDefault();
  });
})();
