// Portal: copy buttons. <button class="copy" data-copy="ID"> copies the text of element #ID.
(function () {
  "use strict";

  function fallbackCopy(element) {
    var range = document.createRange();
    range.selectNodeContents(element);
    var selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
    var copied = false;
    try { copied = document.execCommand("copy"); } catch (e) { copied = false; }
    return copied;
  }

  // The page's words for what a copy did, in its language (layout.html's meta element).
  var words = document.querySelector('meta[name="portal-messages"]');
  var COPIED = (words && words.getAttribute("data-copied")) || "Copied";
  var SELECT = (words && words.getAttribute("data-copy-failed")) || "Select and copy";

  function announce(button, text) {
    var original = button.getAttribute("data-label") || button.textContent;
    button.setAttribute("data-label", original);
    button.textContent = text;
    window.setTimeout(function () { button.textContent = original; }, 2000);
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest("button.copy[data-copy]");
    if (!button) { return; }
    var source = document.getElementById(button.getAttribute("data-copy"));
    if (!source) { return; }
    var text = source.textContent.trim();
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(
        function () { announce(button, COPIED); },
        function () { announce(button, fallbackCopy(source) ? COPIED : SELECT); }
      );
    } else {
      announce(button, fallbackCopy(source) ? COPIED : SELECT);
    }
  });
})();

// Portal: <form data-confirm="Question?"> asks before it is sent (revoke, rotate).
(function () {
  "use strict";
  document.addEventListener("submit", function (event) {
    var form = event.target.closest("form[data-confirm]");
    if (form && !window.confirm(form.getAttribute("data-confirm"))) {
      event.preventDefault();
    }
  });
})();
