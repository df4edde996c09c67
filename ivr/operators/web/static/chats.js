// The operators' chat page: the person's new messages appear without a reload (every 2 s),
// each put in with textContent, never as markup; the chats' list refreshes every 10 s.
// Optional: without it, "Check for new messages" and a reload do the same.
(function () {
  "use strict";

  function line(message) {
    var item = document.createElement("li");
    item.className = "chat-line " + message.author;
    item.dataset.id = String(message.id);
    var who = document.createElement("span");
    who.className = "muted";
    who.textContent = message.who;
    var text = document.createElement("p");
    text.className = "notes";
    text.textContent = message.text;
    item.appendChild(who);
    item.appendChild(text);
    return item;
  }

  function follow(list) {
    var after = Number(list.dataset.after || "0");
    var busy = false;
    var timer = window.setInterval(function () {
      if (busy) { return; }
      busy = true;
      fetch(list.dataset.updates + "?after=" + after, {credentials: "same-origin",
                                                       cache: "no-store"})
        .then(function (response) { return response.ok ? response.json() : null; })
        .then(function (data) {
          if (!data) { window.clearInterval(timer); return; }
          data.messages.forEach(function (message) {
            if (message.id > after) { list.appendChild(line(message)); after = message.id; }
          });
          if (data.status !== "held") { window.clearInterval(timer); }
        })
        .catch(function () { /* the next round tries again */ })
        .then(function () { busy = false; });
    }, 2000);
  }

  function refresh(table) {
    window.setInterval(function () {
      if (document.activeElement && document.activeElement.closest("form")) { return; }
      fetch(window.location.href, {credentials: "same-origin", cache: "no-store"})
        .then(function (response) { return response.ok ? response.text() : null; })
        .then(function (html) {
          if (!html) { return; }
          var fresh = new DOMParser().parseFromString(html, "text/html")
            .getElementById(table.id);
          if (fresh) { table.replaceWith(fresh); table = fresh; }
        })
        .catch(function () { /* the next round tries again */ });
    }, 10000);
  }

  document.addEventListener("DOMContentLoaded", function () {
    var list = document.getElementById("chat-lines");
    if (list) { follow(list); }
    var table = document.getElementById("chat-list");
    if (table) { refresh(table); }
  });
}());
