// The staff portal's only script (served from /static, CSP script-src 'self'):
// copy buttons for one-time links, and confirmation before destructive forms.
"use strict";

function copyText(input) {
  if (navigator.clipboard && window.isSecureContext) {
    return navigator.clipboard.writeText(input.value);
  }
  input.select();
  return document.execCommand("copy") ? Promise.resolve() : Promise.reject(new Error("copy"));
}

function setUpCopyButtons() {
  document.querySelectorAll("button[data-copy-target]").forEach(function (button) {
    button.addEventListener("click", function () {
      var input = document.getElementById(button.getAttribute("data-copy-target"));
      if (!input) { return; }
      copyText(input).then(
        function () { button.textContent = "Copied"; button.classList.add("copied"); },
        function () { input.select(); button.textContent = "Press Ctrl+C"; }
      );
    });
  });
}

function setUpConfirmations() {
  document.querySelectorAll("form[data-confirm]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (!window.confirm(form.getAttribute("data-confirm"))) { event.preventDefault(); }
    });
  });
}

document.addEventListener("DOMContentLoaded", function () {
  setUpCopyButtons();
  setUpConfirmations();
});
