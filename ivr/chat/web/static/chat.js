// The chat's only script, and it is optional: every step works without it.
// It (1) shows new messages without a reload, asking /chat/updates every second (README's
// chat figure: an operator's reply on the page within 2 s at the 99th percentile), each
// message put in with textContent, never as markup; and (2) makes "leave now" instant: the
// page is replaced by the neutral one at once (replace: the chat is not left in the
// back button's history) while the chat is ended in the background.
(function () {
  "use strict";

  function leaveNow(form) {
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      try {
        fetch(form.action, {method: "POST", body: new FormData(form), keepalive: true,
                            credentials: "same-origin", redirect: "manual"});
      } catch (ignored) { /* the neutral page comes first whatever happens */ }
      document.body.textContent = "";
      window.location.replace("/weather");
    });
  }

  function line(message) {
    var item = document.createElement("li");
    item.className = "line " + message.author;
    item.dataset.id = String(message.id);
    var who = document.createElement("span");
    who.className = "who";
    who.textContent = message.who;
    var text = document.createElement("p");
    text.className = "text";
    text.textContent = message.text;
    item.appendChild(who);
    item.appendChild(text);
    return item;
  }

  function follow(list) {
    var after = Number(list.dataset.after || "0");
    var status = document.getElementById("status");
    var busy = false;
    function ask() {
      if (busy) { return; }
      busy = true;
      fetch(list.dataset.updates + "?after=" + after, {credentials: "same-origin",
                                                       cache: "no-store"})
        .then(function (response) { return response.ok ? response.json() : null; })
        .then(function (data) {
          if (!data) { return; }
          data.messages.forEach(function (message) {
            if (message.id > after) {
              list.appendChild(line(message));
              after = message.id;
            }
          });
          if (status && data.status_text && status.textContent !== data.status_text) {
            status.textContent = data.status_text;
          }
          if (data.status === "ended" || data.status === "none") {
            var form = document.getElementById("send-form");
            if (form) { form.hidden = true; }
            window.clearInterval(timer);
          }
        })
        .catch(function () { /* the next round tries again */ })
        .then(function () { busy = false; });
    }
    var timer = window.setInterval(ask, 1000);
  }

  document.addEventListener("DOMContentLoaded", function () {
    var form = document.getElementById("leave-form");
    if (form) { leaveNow(form); }
    var list = document.getElementById("lines");
    if (list) { follow(list); }
  });
}());
