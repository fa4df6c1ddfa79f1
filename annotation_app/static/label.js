// Labelling page: player, 62 adjectives, confidence, keyboard shortcuts, submit-and-next with a local
// outbox so that no submitted vote is lost on a network error, a reload or an expired session.
(function () {
  "use strict";
  const cfg = JSON.parse(document.getElementById("config").textContent);
  const $ = (id) => document.getElementById(id);
  const video = $("video"), grid = $("adjectives"), filter = $("filter"), submit = $("submit");
  const statusLine = $("status"), conf = $("confidence"), confOut = $("confidence-value");
  const outboxKey = "emotions.outbox." + cfg.user_id;
  let task = null, chosen = null, watched = 0, lastTime = 0, done = cfg.done, busy = false;

  function say(text) { statusLine.textContent = text; }
  function uuid() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    const b = crypto.getRandomValues(new Uint8Array(16));
    return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
  }
  async function api(method, url, body) {
    const res = await fetch(url, {
      method, credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": cfg.csrf, "Accept": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (res.status === 401) { window.location.href = "/login?next=" + encodeURIComponent(location.pathname); }
    const data = res.status === 204 ? null : await res.json().catch(() => null);
    return { status: res.status, data };
  }
  function showCount() {
    const p = $("progress-count");
    if (p) p.textContent = cfg.text.done_count.replace("{n}", done);
  }

  // --- outbox: a vote is kept locally until the server has acknowledged it -------------------------
  function outbox() { try { return JSON.parse(localStorage.getItem(outboxKey) || "[]"); } catch (e) { return []; } }
  function saveOutbox(items) { localStorage.setItem(outboxKey, JSON.stringify(items)); }
  async function flush() {
    for (const item of outbox()) {
      let r;
      try { r = await api("POST", "/api/votes", item); } catch (e) { say(cfg.text.offline); return false; }
      if (r.status >= 500 || r.status === 401) { say(cfg.text.offline); return false; }
      saveOutbox(outbox().filter((x) => x.client_id !== item.client_id));
      if (r.status === 201) done += 1;
      if (r.status >= 400 && r.data && r.data.error) say(r.data.error.message);
    }
    showCount();
    return true;
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
  async function nextTask() {
    const r = await api("GET", "/api/tasks/next");
    if (r.status !== 200) { say(r.data && r.data.error ? r.data.error.message : "error"); return; }
    const t = r.data.task;
    $("previous-votes").hidden = true;
    if (!t) { task = null; video.removeAttribute("src"); submit.disabled = true; $("labeller").dataset.sample = ""; say(cfg.text.queue_empty); return; }
    load(t.sample_id, t.media_url, cfg.text.stage + ": " + cfg.text["stage_" + t.stage]);
    task.stage = t.stage;
    say("");
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
    busy = true; submit.disabled = true; say(cfg.text.saving);
    const body = { sample_id: task.sample_id, adjective_id: chosen, confidence: Number(conf.value),
                   client_id: uuid(), watch_s: Math.round(watched * 10) / 10, stage: task.stage };
    saveOutbox([...outbox(), body]);
    const ok = await flush();
    busy = false;
    if (ok) { say(cfg.text.saved); await nextTask(); } else { submit.disabled = false; }
  }
  async function report() {
    if (!task) return;
    const r = await api("POST", "/api/samples/" + encodeURIComponent(task.sample_id) + "/report",
                        { reason: $("report-reason").value, note: "" });
    if (r.status === 201) { say(cfg.text.saved); await nextTask(); }
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
    if (e.key === "l" || e.key === "L") { (cfg.lang === "en" ? $("lang-zh") : $("lang-en")).click(); return; }
    if (conf && /^[0-9]$/.test(e.key)) { const v = e.key === "0" ? 1 : Number(e.key) / 10; conf.value = String(v); confOut.textContent = v.toFixed(1); }
  });

  submit.addEventListener("click", () => (cfg.mode === "qualify" ? submitGold() : submitVote()));
  if ($("report")) $("report").addEventListener("click", report);

  (async function start() {
    showCount();
    await loadAdjectives();
    if (cfg.mode === "qualify") { await nextGold(); return; }
    await flush();
    await nextTask();
    document.body.dataset.ready = "1";
  })().then(() => { document.body.dataset.ready = "1"; });
})();
