// The operators' page, kept fresh without a reload: each element with data-poll is
// replaced by the fragment at that URL every data-every seconds. Forms outside those
// elements (notes being typed, filters) are never touched, and no update lands while the
// operator is using a control inside one.
(function () {
  "use strict";

  function busy(element) {
    var active = document.activeElement;
    return active && active !== document.body && element.contains(active) &&
      active.tagName !== "A";
  }

  function poll(element) {
    var seconds = parseInt(element.getAttribute("data-every") || "0", 10);
    if (!seconds) { return; }
    window.setTimeout(function () {
      if (document.hidden || busy(element)) { poll(element); return; }
      fetch(element.getAttribute("data-poll"), {
        credentials: "same-origin", headers: { "X-Requested-With": "poll" }
      }).then(function (response) {
        if (response.redirected || !response.ok) { throw new Error("signed out or failed"); }
        return response.text();
      }).then(function (html) {
        element.innerHTML = html;
        var live = element.querySelector("[data-live]");
        if (live && live.getAttribute("data-live") === "0") {
          element.setAttribute("data-every", "0");
          var button = document.getElementById("call-button");
          if (button) { button.disabled = false; }
        }
        poll(element);
      }).catch(function () {
        // Signed out or offline: try again later; the page keeps what it shows.
        window.setTimeout(function () { poll(element); }, seconds * 3000);
      });
    }, seconds * 1000);
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-poll]").forEach(poll);
    document.querySelectorAll("form[data-autosubmit] select").forEach(function (select) {
      select.addEventListener("change", function () { select.form.submit(); });
    });
  });
}());
