// Labelling page: player, 62 adjectives, confidence, keyboard shortcuts, submit-and-next with a local
// outbox so that no submitted vote is lost on a network error, a reload or an expired session.
(function () {
  "use strict";
  const cfg = JSON.parse(document.getElementById("config").textContent);
  const $ = (id) => document.getElementById(id);
  const video = $("video"), grid = $("adjectives"), filter = $("filter"), submit = $("submit");
  const statusLine = $("status"), conf = $("confidence"), confOut = $("confidence-value");
  const outboxKey = "emotions.outbox." + cfg.user_id;
  let task = null, chosen = null, watched = 0, lastTime = 0, done = cfg.done, busy = false, pendingId = null;

  function say(text) { statusLine.textContent = text; }
  function uuid() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    const b = crypto.getRandomValues(new Uint8Array(16));
    return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
  }
  const TIMEOUT_MS = 15000;  // a server that does not answer counts as a network error (the vote stays queued)
  async function api(method, url, body) {
    const ctrl = new AbortController(), timer = setTimeout(() => ctrl.abort(), TIMEOUT_MS);
    let res;
    try {
      res = await fetch(url, {
        method, credentials: "same-origin", signal: ctrl.signal,
        headers: { "Content-Type": "application/json", "X-CSRF-Token": cfg.csrf, "Accept": "application/json" },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } finally { clearTimeout(timer); }
    if (res.status === 401) { window.location.href = "/login?next=" + encodeURIComponent(location.pathname); }
    const data = res.status === 204 ? null : await res.json().catch(() => null);
    return { status: res.status, data };
  }
  const navDone = $("nav-progress-done"), navStart = navDone ? Number(navDone.textContent) : 0, doneStart = done;
  function showCount() {
    const p = $("progress-count");
    if (p && cfg.mode !== "audit") p.textContent = cfg.text.done_count.replace("{n}", done);
    if (navDone) navDone.textContent = navStart + done - doneStart;  // the "N of M" line in the header
  }

  // --- outbox: a vote is kept locally until the server has acknowledged or refused it --------------
  // Acknowledged (200/201): "Saved". Refused for good (403/404/409/422): removed, shown as not counted,
  // with the reason in the person's language. Anything else (no network, 5xx, 408, 429, 401): kept and
  // sent again with back-off; the page says "not saved yet" and never "Saved".
  const TRANSIENT = new Set([401, 408, 425, 429]);
  let retryDelay = 0, retryTimer = null;
  function outbox() { try { return JSON.parse(localStorage.getItem(outboxKey) || "[]"); } catch (e) { return []; } }
  function saveOutbox(items) { localStorage.setItem(outboxKey, JSON.stringify(items)); }
  function refusalText(data) {
    const err = (data && data.error) || {};
    const key = "refused_" + (err.code || "other");
    const reason = cfg.text[key] || cfg.text.refused_other.replace("{message}", err.message || "?");
    return reason + " " + cfg.text.not_counted;
  }
  // What the server said about a failed request, in the person's language when its code is known.
  function errorText(data) {
    const err = (data && data.error) || null;
    if (!err) return cfg.text.offline;
    return cfg.text["refused_" + err.code] || cfg.text["error_" + err.code] || err.message || cfg.text.offline;
  }
  async function flush() {
    // -> { acked: [client ids], refused: [{client_id, sample_id, code, text}], pending: n }
    const result = { acked: [], refused: [], pending: 0 };
    for (const item of outbox()) {
      let r = null;
      try { r = await api("POST", "/api/votes", item); } catch (e) { r = null; }
      if (r === null || r.status >= 500 || TRANSIENT.has(r.status)) { result.pending = outbox().length; break; }
      saveOutbox(outbox().filter((x) => x.client_id !== item.client_id));
      if (r.status === 200 || r.status === 201) {
        result.acked.push(item.client_id);
        if (r.status === 201) done += 1;
      } else {
        const code = r.data && r.data.error ? r.data.error.code : "other";
        result.refused.push({ client_id: item.client_id, sample_id: item.sample_id, code, text: refusalText(r.data) });
      }
    }
    showCount();
    return result;
  }
  function scheduleRetry() {
    clearTimeout(retryTimer);
    retryDelay = Math.min(30, retryDelay ? retryDelay * 2 : 1);
    say(cfg.text.retrying.replace("{s}", retryDelay));
    statusLine.dataset.state = "pending";
    retryTimer = setTimeout(retryPending, retryDelay * 1000);
  }
  async function retryPending() {
    const waiting = outbox().map((x) => x.client_id);
    const current = waiting.includes(pendingId) ? pendingId : null;
    const r = await flush();
    if (r.pending) { scheduleRetry(); return; }
    retryDelay = 0;
    await settle(r, current, true);
  }
  // After a flush that left nothing pending: tell the truth about the vote `clientId` (or, with none, the
  // latest of the earlier ones), then move on to the next clip.
  async function settle(r, clientId, late) {
    pendingId = null; busy = false; statusLine.dataset.state = "";
    const refused = clientId ? r.refused.find((x) => x.client_id === clientId) : r.refused[r.refused.length - 1];
    if (refused) { await nextTask(refused.text + " " + cfg.text.next_clip, "refused", refused.code); return; }
    if (clientId ? r.acked.includes(clientId) : r.acked.length) {
      await nextTask(late ? cfg.text.sent_later : cfg.text.saved, "saved");
      return;
    }
    await nextTask();
  }

  // --- lease: keep the seat while the person is still at this clip ------------------------------
  let leaseTimer = null, lastActivity = Date.now();
  ["keydown", "pointerdown", "timeupdate"].forEach((ev) => (ev === "timeupdate" ? video : document)
    .addEventListener(ev, () => { lastActivity = Date.now(); }));
  function keepLease(t) {
    clearInterval(leaseTimer);
    if (!t || !t.lease_s || t.stage === "crosscheck") return;
    const every = Math.max(5, Math.min(300, t.lease_s / 3)) * 1000;
    leaseTimer = setInterval(async () => {
      if (!task || task.sample_id !== t.sample_id || Date.now() - lastActivity > t.lease_s * 1000) return;
      try {
        const r = await api("POST", "/api/tasks/" + encodeURIComponent(t.sample_id) + "/lease");
        if (r.status === 409 || r.status === 404 || r.status === 403) {
          clearInterval(leaseTimer);
          await nextTask(refusalText(r.data) + " " + cfg.text.next_clip, "refused", r.data && r.data.error && r.data.error.code);
        }
      } catch (e) { /* offline: the vote path will tell */ }
    }, every);
  }

  // --- adjectives --------------------------------------------------------------------------------
  async function loadAdjectives() {
    const r = await api("GET", "/api/adjectives?lang=" + encodeURIComponent(cfg.lang));
    grid.textContent = "";
    for (const a of r.data) {
      const b = document.createElement("button");
      b.type = "button"; b.className = "adj"; b.dataset.id = a.id; b.textContent = a.label;
      b.setAttribute("role", "option");
      if (a.category) b.title = cfg.categories[a.category] || a.category;
      b.addEventListener("click", () => choose(b));
      grid.appendChild(b);
    }
  }
  function visibleButtons() { return Array.from(grid.querySelectorAll(".adj")).filter((b) => !b.hidden); }
  function choose(button) {
    grid.querySelectorAll(".adj.selected").forEach((b) => { b.classList.remove("selected"); b.setAttribute("aria-selected", "false"); });
    chosen = button ? Number(button.dataset.id) : null;
    if (button) { button.classList.add("selected"); button.setAttribute("aria-selected", "true"); button.scrollIntoView({ block: "nearest" }); }
    submit.disabled = !(chosen && task);
  }
  function move(step) {
    const list = visibleButtons();
    if (!list.length) return;
    const at = list.findIndex((b) => Number(b.dataset.id) === chosen);
    choose(list[(at + step + list.length) % list.length]);
  }
  filter.addEventListener("input", () => {
    const q = filter.value.trim().toLowerCase();
    grid.querySelectorAll(".adj").forEach((b) => { b.hidden = q !== "" && !b.textContent.toLowerCase().includes(q); });
  });

  // --- player ------------------------------------------------------------------------------------
  video.addEventListener("timeupdate", () => {
    const d = video.currentTime - lastTime;
    if (d > 0 && d < 1.5) watched += d * 1;
    lastTime = video.currentTime;
  });
  video.addEventListener("seeking", () => { lastTime = video.currentTime; });
  $("replay").addEventListener("click", () => { video.currentTime = 0; video.play().catch(() => {}); });
  $("speed").addEventListener("change", (e) => { video.playbackRate = Number(e.target.value); });
  function speedStep(step) {
    const s = $("speed"), i = Math.min(s.options.length - 1, Math.max(0, s.selectedIndex + step));
    s.selectedIndex = i; video.playbackRate = Number(s.value);
  }
  if (conf) conf.addEventListener("input", () => { confOut.textContent = Number(conf.value).toFixed(1); });

  function load(sampleId, mediaUrl, stageText) {
    task = { sample_id: sampleId, stage: task && task.stage };
    watched = 0; lastTime = 0; choose(null); filter.value = ""; filter.dispatchEvent(new Event("input"));
    if (conf) { conf.value = "0.5"; confOut.textContent = "0.5"; }
    video.src = mediaUrl; video.load(); video.play().catch(() => {});
    $("stage-line").textContent = stageText;
    $("labeller").dataset.sample = sampleId;
  }

  // --- task mode ---------------------------------------------------------------------------------
  // Load the next clip; `message` (what happened to the previous one) stays on screen.
  async function nextTask(message, kind, code) {
    let r;
    try { r = await api("GET", "/api/tasks/next"); } catch (e) { r = { status: 0, data: null }; }
    statusLine.dataset.state = kind || "";
    statusLine.dataset.code = code || "";
    if (r.status !== 200) {
      say((message ? message + " " : "") + (errorText(r.data)));
      return;
    }
    const t = r.data.task;
    $("previous-votes").hidden = true;
    if (!t) {
      task = null; keepLease(null); choose(null); video.removeAttribute("src"); video.load(); submit.disabled = true;
      $("stage-line").textContent = "";
      $("labeller").dataset.sample = ""; say((message ? message + " " : "") + cfg.text.queue_empty); return;
    }
    load(t.sample_id, t.media_url, cfg.text.stage + ": " + cfg.text["stage_" + t.stage]);
    task.stage = t.stage;
    keepLease(t);
    say(message || "");
    if (cfg.role === "expert") showVotes(t.sample_id);
  }
  async function showVotes(sampleId) {
    const r = await api("GET", "/api/samples/" + encodeURIComponent(sampleId));
    const box = $("previous-votes");
    if (!r.data || !r.data.votes) return;
    box.textContent = "";
    const h = document.createElement("h3"); h.textContent = cfg.text.previous_votes; box.appendChild(h);
    const ul = document.createElement("ul");
    for (const v of r.data.votes) {
      const li = document.createElement("li");
      const cat = cfg.categories[v.category] || v.category;
      li.textContent = cfg.text["stage_" + v.stage] + " · " + v.voter + " · " + v.adjective + " (" + cat + ") · " + v.confidence.toFixed(1);
      ul.appendChild(li);
    }
    box.appendChild(ul); box.hidden = false;
  }
  async function submitVote() {
    if (busy || !task || !chosen) return;
    busy = true; submit.disabled = true; say(cfg.text.saving); statusLine.dataset.state = "saving";
    const body = { sample_id: task.sample_id, adjective_id: chosen, confidence: Number(conf.value),
                   client_id: uuid(), watch_s: Math.round(watched * 10) / 10, stage: task.stage };
    saveOutbox([...outbox(), body]);
    pendingId = body.client_id;
    const r = await flush();
    if (r.pending) { scheduleRetry(); return; }  // stays busy: the same vote is sent again, never a second one
    await settle(r, body.client_id, false);
  }
  async function skip() {
    if (busy || !task) return;
    busy = true;
    try {
      const r = await api("POST", "/api/tasks/" + encodeURIComponent(task.sample_id) + "/release");
      if (r.status === 200) await nextTask(cfg.text.skipped, "skipped");
      else say(errorText(r.data));
    } catch (e) { say(cfg.text.offline); }
    busy = false;
  }
  async function report() {
    if (busy || !task) return;
    busy = true;
    try {
      const r = await api("POST", "/api/samples/" + encodeURIComponent(task.sample_id) + "/report",
                          { reason: $("report-reason").value, note: "" });
      if (r.status === 201) await nextTask(cfg.text.reported, "reported");
      else say(errorText(r.data));
    } catch (e) { say(cfg.text.offline); }
    busy = false;
  }

  // --- qualification mode ------------------------------------------------------------------------
  async function nextGold(state) {
    if (!state) state = (await api("GET", "/api/qualification")).data;
    if (state.passed) {
      say(cfg.text.qualification_passed); task = null; submit.disabled = true;
      const a = document.createElement("a"); a.href = "/label"; a.id = "start-labelling"; a.textContent = "→ /label";
      statusLine.appendChild(document.createTextNode(" ")); statusLine.appendChild(a);
      return;
    }
    if (!state.next_sample_id) {
      say(cfg.text.qualification_failed.replace("{score}", Math.round((state.last_score || 0) * 100)).replace("{left}", state.attempts_left));
      task = null; submit.disabled = true; return;
    }
    if (state.last_score !== null && state.answered === 0) {
      say(cfg.text.qualification_failed.replace("{score}", Math.round(state.last_score * 100)).replace("{left}", state.attempts_left));
    }
    load(state.next_sample_id, "/media/" + encodeURIComponent(state.next_sample_id), state.answered + 1 + " / " + state.total);
  }
  async function submitGold() {
    if (busy || !task || !chosen) return;
    busy = true;
    const r = await api("POST", "/api/qualification/answers", { sample_id: task.sample_id, adjective_id: chosen });
    busy = false;
    if (r.status === 200) await nextGold(r.data); else say(r.data && r.data.error ? r.data.error.message : "error");
  }

  // --- audit mode: the expert's second look at likely label errors -------------------------------
  // The clip, its current label and every earlier vote; the model's suggestion only after the choice.
  async function nextAudit(message) {
    let r;
    try { r = await api("GET", "/api/audit/next"); } catch (e) { r = { status: 0, data: null }; }
    if (r.status !== 200) { say((message ? message + " " : "") + errorText(r.data)); return; }
    const item = r.data.item;
    $("previous-votes").hidden = true;
    if (!item) {
      task = null; choose(null); video.removeAttribute("src"); video.load(); submit.disabled = true;
      $("stage-line").textContent = ""; $("progress-count").textContent = cfg.text.audit_pending.replace("{n}", 0);
      $("labeller").dataset.sample = ""; say((message ? message + " " : "") + cfg.text.audit_empty); return;
    }
    const current = cfg.categories[item.final_category] || item.final_category;
    const stage = cfg.text["stage_" + item.decided_stage] || item.decided_stage || "-";
    load(item.sample_id, item.media_url, cfg.text.audit_stage.replace("{category}", current).replace("{stage}", stage));
    task.review_id = item.review_id;
    $("progress-count").textContent = cfg.text.audit_pending.replace("{n}", item.pending);
    say([message, item.reason ? cfg.text.audit_reason.replace("{reason}", item.reason) : ""].filter(Boolean).join(" · "));
    showVotes(item.sample_id);
  }
  function reveal(d) {
    const box = $("audit-reveal"), name = (c) => cfg.categories[c] || c;
    const outcome = d.changed ? cfg.text.audit_changed.replace("{old}", name(d.previous_category)).replace("{new}", name(d.category))
      : cfg.text.audit_confirmed.replace("{category}", name(d.category));
    const hint = d.suggested_category ? cfg.text.audit_suggestion.replace("{category}", name(d.suggested_category))
      : cfg.text.audit_no_suggestion;
    box.textContent = d.sample_id + ": " + outcome + " " + hint;
    box.dataset.sample = d.sample_id; box.dataset.changed = d.changed ? "1" : "0"; box.hidden = false;
  }
  async function submitAudit() {
    if (busy || !task || !chosen) return;
    busy = true; submit.disabled = true; say(cfg.text.saving);
    let r;
    try {
      r = await api("POST", "/api/audit/reviews/" + task.review_id + "/decision",
                    { adjective_id: chosen, confidence: Number(conf.value), watch_s: Math.round(watched * 10) / 10 });
    } catch (e) { r = { status: 0, data: null }; }
    busy = false;
    if (r.status === 200) { reveal(r.data); await nextAudit(cfg.text.saved); return; }
    submit.disabled = false;
    say(errorText(r.data));
  }

  // --- keyboard ----------------------------------------------------------------------------------
  document.addEventListener("keydown", (e) => {
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    const inFilter = document.activeElement === filter;
    if (e.key === "Escape") { filter.blur(); return; }
    if (e.key === "Enter") { e.preventDefault(); if (inFilter && !chosen) { const v = visibleButtons(); if (v.length) choose(v[0]); filter.blur(); return; } submit.click(); return; }
    if (e.key === "ArrowRight" || e.key === "ArrowDown") { e.preventDefault(); move(1); return; }
    if (e.key === "ArrowLeft" || e.key === "ArrowUp") { e.preventDefault(); move(-1); return; }
    if (inFilter || (document.activeElement && document.activeElement.tagName === "SELECT")) return;
    if (e.key === "/") { e.preventDefault(); filter.focus(); return; }
    if (e.key === " ") { e.preventDefault(); if (video.paused) video.play().catch(() => {}); else video.pause(); return; }
    if (e.key === "r" || e.key === "R") { $("replay").click(); return; }
    if (e.key === "[") { speedStep(-1); return; }
    if (e.key === "]") { speedStep(1); return; }
    if ((e.key === "b" || e.key === "B") && $("report")) { report(); return; }
    if ((e.key === "s" || e.key === "S") && $("skip")) { skip(); return; }
    if (e.key === "l" || e.key === "L") { (cfg.lang === "en" ? $("lang-zh") : $("lang-en")).click(); return; }
    if (conf && /^[0-9]$/.test(e.key)) { const v = e.key === "0" ? 1 : Number(e.key) / 10; conf.value = String(v); confOut.textContent = v.toFixed(1); }
  });

  submit.addEventListener("click", () => (cfg.mode === "qualify" ? submitGold()
    : cfg.mode === "audit" ? submitAudit() : submitVote()));
  if ($("report")) $("report").addEventListener("click", report);
  if ($("skip")) $("skip").addEventListener("click", skip);

  (async function start() {
    showCount();
    await loadAdjectives();
    if (cfg.mode === "qualify") { await nextGold(); return; }
    if (cfg.mode === "audit") { await nextAudit(); return; }
    const earlier = await flush();  // votes left on this device by an earlier visit
    if (earlier.pending) { busy = true; scheduleRetry(); return; }
    await settle(earlier, null, true);
    document.body.dataset.ready = "1";
  })().then(() => { document.body.dataset.ready = "1"; });
})();
