/* Login page: hide the empty SSO block, tie a server error message to the password field. */
(function () {
  "use strict";
  const sso = document.getElementById("sso");
  if (sso && !sso.textContent.trim() && !sso.querySelector("a")) sso.hidden = true;
  const err = document.getElementById("anmeldefehler");
  if (err && err.textContent.trim()) {
    const pw = document.getElementById("password");
    pw.setAttribute("aria-invalid", "true");
    pw.setAttribute("aria-describedby", "anmeldefehler");
    pw.focus();
  }
})();
