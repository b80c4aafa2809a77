/* The buyer's payment status page (/purchase/callback).
 *
 * The server already painted the true state from our own record; this script only improves it:
 * while the payment is pending it asks the verify endpoint every few seconds for a limited time,
 * then offers "Cek lagi"; on success with a store URL it counts down, naming the host it sends
 * the buyer to, and goes back to the store.
 * Browsers without JavaScript get a bounded <noscript> refresh instead. No framework, no CDN.
 */
(function () {
  "use strict";

  var root = document.getElementById("payment");
  if (!root) return;

  function byId(id) {
    return document.getElementById(id);
  }

  function numberAttr(name, fallback) {
    var value = parseInt(root.getAttribute(name), 10);
    return value > 0 ? value : fallback;
  }

  function readTexts() {
    var node = byId("callback-texts");
    if (!node) return null;
    try {
      return JSON.parse(node.textContent);
    } catch (error) {
      return null;
    }
  }

  var texts = readTexts();
  var redirectSeconds = numberAttr("data-redirect-seconds", 5);
  var title = document.title;
  var titleSuffix = title.indexOf(" — ") >= 0 ? title.slice(title.indexOf(" — ")) : "";

  // -- back to the store ------------------------------------------------------------------

  // The server built this URL from the project's validated template and a validated slug;
  // still, never navigate anywhere that is not plain http(s).
  function storeUrl(value) {
    if (typeof value !== "string" || value === "") return null;
    var url;
    try {
      url = new URL(value, window.location.href);
    } catch (error) {
      return null;
    }
    return url.protocol === "https:" || url.protocol === "http:" ? url.href : null;
  }

  function showStoreLink(url, label, primary) {
    var link = byId("store-link");
    link.href = url;
    link.className = primary ? "button" : "button button-secondary";
    if (label) link.textContent = label;
    byId("store-return").hidden = false;
  }

  // The host the browser will really go to, as its URL parser reads it: never the userinfo
  // (https://toko.example@evil.example/ goes to evil.example), an international name in its
  // ASCII (punycode) form, so look-alike letters cannot pass for another shop's name.
  function hostOf(url) {
    try {
      return new URL(url).hostname;
    } catch (error) {
      return "";
    }
  }

  function returnToStore(value, label) {
    var url = storeUrl(value);
    if (!url) return;
    var host = hostOf(url);
    if (!host) {
      // Never send the buyer somewhere the page cannot name: a link they may follow instead.
      showStoreLink(url, texts ? texts.go : null, false);
      return;
    }
    showStoreLink(url, label, true);
    byId("redirect-host").textContent = host; // text, never markup
    var note = byId("redirect-note");
    var count = byId("countdown");
    var left = redirectSeconds;
    count.textContent = String(left);
    note.hidden = false;
    var tick = window.setInterval(function () {
      left -= 1;
      count.textContent = String(Math.max(left, 0));
      if (left <= 0) {
        window.clearInterval(tick);
        // replace(): going back from the store must not land here and be sent forward again.
        window.location.replace(url);
      }
    }, 1000);
  }

  // -- showing a new state ----------------------------------------------------------------

  function setMessage(text) {
    byId("status-message").textContent = text;
  }

  function render(payment) {
    var paidUrl = root.getAttribute("data-paid-url");
    if (payment.status === "settlement" && paidUrl) {
      // An item with a delivery: the server draws the download or the text.
      window.location.replace(paidUrl);
      return;
    }
    var state = texts.states[payment.status];
    root.setAttribute("data-status", payment.status);
    root.className = root.className.replace(/\btone-[a-z]+/, "tone-" + state.tone);
    byId("status-title").textContent = state.title;
    document.title = state.title + titleSuffix;
    byId("poll-progress").hidden = true;
    byId("recheck").hidden = true;
    var resume = byId("continue-payment"); // nothing left to pay once the state is final
    if (resume) resume.hidden = true;
    var url = storeUrl(payment.redirect_url);
    if (payment.status === "settlement" && url) {
      setMessage(texts.settlement_redirect);
      returnToStore(url, texts.go_now);
    } else {
      setMessage(state.message);
      if (url) showStoreLink(url, texts.go, false);
    }
  }

  // -- waiting for the payment ------------------------------------------------------------

  function Poller(verifyUrl) {
    this.verifyUrl = verifyUrl;
    this.interval = numberAttr("data-poll-interval-ms", 3000);
    this.limit = numberAttr("data-poll-limit-ms", 60000);
    this.maxPolls = Math.max(1, Math.ceil(this.limit / this.interval));
    this.timer = null;
    this.ticker = null;
  }

  Poller.prototype.start = function (immediately) {
    var self = this;
    // "Cek lagi" asks at once, then waits the whole limit again like a fresh page.
    this.polls = immediately ? -1 : 0;
    this.deadline = Date.now() + this.limit;
    byId("recheck").hidden = true;
    setMessage(texts.states.pending.message);
    this.showProgress();
    this.ticker = window.setInterval(function () {
      self.updateLabel();
    }, 1000);
    this.schedule(immediately ? 0 : this.interval);
  };

  Poller.prototype.schedule = function (delay) {
    var self = this;
    this.timer = window.setTimeout(function () {
      self.poll();
    }, delay);
  };

  Poller.prototype.poll = function () {
    var self = this;
    this.polls += 1;
    var controller = window.AbortController ? new AbortController() : null;
    var guard = window.setTimeout(function () {
      if (controller) controller.abort();
    }, Math.max(this.interval, 8000));
    window
      .fetch(this.verifyUrl, {
        cache: "no-store",
        credentials: "omit",
        headers: { Accept: "application/json" },
        signal: controller ? controller.signal : undefined,
      })
      .then(function (response) {
        return response.ok ? response.json() : null;
      })
      .catch(function () {
        return null; // offline or slow: the next poll tries again
      })
      .then(function (payment) {
        window.clearTimeout(guard);
        self.handle(payment);
      });
  };

  Poller.prototype.handle = function (payment) {
    var known = payment && typeof payment.status === "string" && texts.states[payment.status];
    if (known && payment.status !== "pending") {
      this.stop();
      render(payment);
    } else if (this.polls >= this.maxPolls) {
      this.stop();
      byId("poll-progress").hidden = true;
      setMessage(texts.stalled);
      byId("recheck").hidden = false;
    } else {
      this.schedule(this.interval);
    }
  };

  Poller.prototype.stop = function () {
    window.clearTimeout(this.timer);
    window.clearInterval(this.ticker);
  };

  Poller.prototype.showProgress = function () {
    var bar = byId("poll-bar");
    // Visible first (a hidden element has no transition), then restart the bar from empty:
    // no transition, force a layout, then fill it over the time limit.
    byId("poll-progress").hidden = false;
    bar.style.transition = "none";
    bar.style.transform = "scaleX(0)";
    void bar.offsetWidth;
    bar.style.transition = "transform " + this.limit + "ms linear";
    bar.style.transform = "scaleX(1)";
    this.updateLabel();
  };

  Poller.prototype.updateLabel = function () {
    var left = Math.max(0, Math.ceil((this.deadline - Date.now()) / 1000));
    byId("poll-label").textContent = texts.remaining.replace("{n}", String(left));
  };

  // -- start ------------------------------------------------------------------------------

  // The script runs: the words written for browsers without it no longer apply.
  var withoutScript = root.querySelectorAll(".no-js");
  for (var i = 0; i < withoutScript.length; i += 1) withoutScript[i].hidden = true;

  var status = root.getAttribute("data-status");
  var verifyUrl = root.getAttribute("data-verify-url");
  if (status === "pending" && texts && verifyUrl && window.fetch) {
    var poller = new Poller(verifyUrl);
    byId("recheck-button").addEventListener("click", function () {
      poller.start(true);
    });
    poller.start(false);
  } else if (status === "settlement") {
    returnToStore(root.getAttribute("data-redirect-url"), null);
  }
})();
