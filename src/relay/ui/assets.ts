import { createHash } from 'node:crypto'

// The pages' static assets, served by the pages router itself: nothing is fetched from elsewhere.

/** The pages' only stylesheet: system fonts, light and dark, readable from 320 px wide up. */
export const STYLESHEET = `
:root {
  color-scheme: light dark;
  --bg: #f6f7f9;
  --surface: #ffffff;
  --surface-2: #f1f3f6;
  --text: #1b1f24;
  --muted: #5c6470;
  --border: #e1e4e9;
  --accent: #2459d6;
  --focus: #2f6feb;
  --ok: #17703a;
  --ok-bg: #e3f4e8;
  --bad: #b4232b;
  --bad-bg: #fde9e9;
  --warn: #8f4f00;
  --warn-bg: #fff1dc;
  --active: #1f58c7;
  --active-bg: #e6eefd;
  --idle: #59606b;
  --idle-bg: #eceef2;
  --shadow: 0 1px 2px rgb(16 24 40 / 5%), 0 1px 3px rgb(16 24 40 / 6%);
  --radius: 10px;
  --mono: ui-monospace, SFMono-Regular, "SF Mono", Menlo, Consolas, "Liberation Mono", monospace;
  font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", "Noto Sans", Arial, sans-serif;
  font-size: 15px;
  line-height: 1.5;
}
@media (prefers-color-scheme: dark) {
  :root {
    --bg: #0e1116;
    --surface: #161b22;
    --surface-2: #1d232c;
    --text: #e6e9ee;
    --muted: #9aa3ae;
    --border: #2a313c;
    --accent: #7aa7ff;
    --focus: #7aa7ff;
    --ok: #6fd68f;
    --ok-bg: rgb(46 160 67 / 18%);
    --bad: #ff8a8f;
    --bad-bg: rgb(248 81 73 / 16%);
    --warn: #f5b35c;
    --warn-bg: rgb(210 153 34 / 18%);
    --active: #8db4ff;
    --active-bg: rgb(56 139 253 / 18%);
    --idle: #a4adb8;
    --idle-bg: rgb(110 118 129 / 20%);
    --shadow: none;
  }
}
*, *::before, *::after { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; text-size-adjust: 100%; }
body { margin: 0; background: var(--bg); color: var(--text); overflow-wrap: break-word; }
.why, .reason, .report, .log, .facts dd, .callout, .unlinked, .causes { overflow-wrap: anywhere; }
/* Image names wrap after a slash (<wbr>), inside a word only when nothing else fits. */
.ref, .tag { overflow-wrap: break-word; }
a { color: var(--accent); text-decoration: none; }
a:hover { text-decoration: underline; }
:focus-visible { outline: 2px solid var(--focus); outline-offset: 2px; border-radius: 4px; }
code, pre, .mono { font-family: var(--mono); font-size: 0.88em; }
h1, h2, h3 { line-height: 1.25; margin: 0; }
h1 { font-size: 1.5rem; font-weight: 650; }
h2 { font-size: 1.1rem; font-weight: 650; margin: 2rem 0 0.75rem; }
h3 { font-size: 1rem; font-weight: 600; }
h2 .hint { font-size: 0.8rem; font-weight: 400; margin-left: 0.5rem; }
p { margin: 0.5rem 0; }
.muted { color: var(--muted); }
.visually-hidden {
  position: absolute; width: 1px; height: 1px; padding: 0; margin: -1px;
  overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; border: 0;
}

.site-header { background: var(--surface); border-bottom: 1px solid var(--border); }
.site-header-inner {
  max-width: 72rem; margin: 0 auto; padding: 0 1.25rem; height: 3.25rem;
  display: flex; align-items: center; gap: 2rem;
}
.brand { display: flex; align-items: center; gap: 0.5rem; font-weight: 700; color: var(--text); letter-spacing: -0.01em; font-size: 1.05rem; }
.brand:hover { text-decoration: none; }
.brand-mark {
  width: 1.1rem; height: 1.1rem; border-radius: 50%;
  border: 3px solid var(--accent); box-shadow: 0.45rem 0 0 -0.1rem var(--ok);
}
.site-header nav { display: flex; gap: 0.25rem; height: 100%; }
.site-header nav a {
  display: flex; align-items: center; padding: 0 0.75rem; color: var(--muted);
  border-bottom: 2px solid transparent; font-weight: 500;
}
.site-header nav a:hover { color: var(--text); text-decoration: none; }
.site-header nav a[aria-current="page"] { color: var(--text); border-bottom-color: var(--accent); }
main { max-width: 72rem; margin: 0 auto; padding: 1.5rem 1.25rem 4rem; }

.page-head { display: flex; flex-wrap: wrap; align-items: center; gap: 0.5rem 0.75rem; margin-bottom: 1.25rem; }
.page-head .subtitle { flex-basis: 100%; margin: 0; color: var(--muted); }
.back { display: inline-block; margin-bottom: 0.75rem; color: var(--muted); }

.badge {
  display: inline-flex; align-items: center; gap: 0.3rem; padding: 0.05rem 0.55rem;
  border-radius: 999px; font-size: 0.8rem; font-weight: 600; white-space: nowrap; line-height: 1.5;
}
.badge-icon { font-size: 0.75rem; }
.badge-ok { color: var(--ok); background: var(--ok-bg); }
.badge-bad { color: var(--bad); background: var(--bad-bg); }
.badge-warn { color: var(--warn); background: var(--warn-bg); }
.badge-active { color: var(--active); background: var(--active-bg); }
.badge-idle { color: var(--idle); background: var(--idle-bg); }

.filters {
  display: flex; flex-wrap: wrap; align-items: flex-end; gap: 0.75rem;
  background: var(--surface); border: 1px solid var(--border); border-radius: var(--radius);
  padding: 0.9rem 1rem; margin-bottom: 1rem; box-shadow: var(--shadow);
}
.filters label { display: flex; flex-direction: column; gap: 0.25rem; font-size: 0.8rem; font-weight: 600; color: var(--muted); flex: 1 1 10rem; min-width: 0; }
.filters input, .filters select {
  font: inherit; font-size: 0.95rem; color: var(--text); background: var(--bg);
  border: 1px solid var(--border); border-radius: 7px; padding: 0 0.6rem; height: 2.3rem; width: 100%; min-width: 0;
}
.filters .actions { display: flex; align-items: center; gap: 0.75rem; }
.button {
  font: inherit; font-weight: 600; font-size: 0.9rem; cursor: pointer;
  border: 1px solid transparent; border-radius: 7px; padding: 0 1.1rem; height: 2.3rem;
  background: var(--accent); color: #fff;
}
@media (prefers-color-scheme: dark) { .button { color: #0e1116; } }
.button:hover { filter: brightness(1.08); text-decoration: none; }
.button-quiet { background: var(--surface); color: var(--text); border-color: var(--border); }
@media (prefers-color-scheme: dark) { .button-quiet { color: var(--text); } }
.filters .search { flex: 3 1 18rem; }
.filters .help { flex-basis: 100%; margin: 0; font-size: 0.8rem; color: var(--muted); }
.page-head form.cancel { margin-left: auto; }
form.decision { display: flex; flex-wrap: wrap; align-items: flex-end; gap: 0.5rem 0.75rem; margin-top: 0.75rem; }
form.decision label { display: flex; flex-direction: column; gap: 0.25rem; font-size: 0.8rem; font-weight: 600; color: var(--muted); flex: 1 1 14rem; }
form.decision input {
  font: inherit; font-size: 0.95rem; color: var(--text); background: var(--bg);
  border: 1px solid var(--border); border-radius: 7px; padding: 0 0.6rem; height: 2.3rem; width: 100%; min-width: 0;
}
.digest { display: inline-flex; align-items: center; gap: 0.35rem; position: relative; z-index: 1; }
.digest code { font-size: 0.8rem; color: var(--muted); }
.copy {
  font: inherit; font-size: 0.75rem; font-weight: 600; cursor: pointer; height: 1.5rem; padding: 0 0.45rem;
  border: 1px solid var(--border); border-radius: 5px; background: var(--surface); color: var(--text);
}
.causes { margin: 0.75rem 0 0; padding: 0.6rem 0.8rem; border-radius: 8px; background: var(--warn-bg); font-size: 0.9rem; }
.causes ul { margin: 0.25rem 0; padding-left: 1.2rem; }
.yes { color: var(--ok); font-weight: 600; }
.no { color: var(--bad); font-weight: 600; }
.chain { margin-bottom: 1.25rem; }
.chain > .step-head { padding: 0.9rem 1.25rem 0; }
.chain > .step-head h2 { margin: 0; margin-right: auto; }
.chain h3 { margin-top: 0.25rem; }
.chain-steps { margin: 0.25rem 0 0.75rem; padding-left: 1.3rem; }
.chain-steps li + li { margin-top: 0.3rem; }
.branches-list { margin-top: 0.25rem; padding-left: 0.75rem; }
.webhooks .facts { padding: 0.5rem 0 0; grid-template-columns: minmax(0, 1fr); gap: 0.5rem; }
.notes { margin: 0.5rem 0 0; padding-left: 1.2rem; color: var(--muted); font-size: 0.9rem; }
.test-note { font-size: 0.85rem; }
/* A row's main link covers the whole row; the other links and buttons in it stay above. */
table.list tbody tr { position: relative; }
a.row-link::after { content: ""; position: absolute; inset: 0; }
table.list td a:not(.row-link), table.list td button { position: relative; z-index: 1; }

.card {
  background: var(--surface); border: 1px solid var(--border); border-radius: var(--radius);
  box-shadow: var(--shadow);
}
table.list { width: 100%; border-collapse: collapse; }
table.list th {
  text-align: left; font-size: 0.75rem; font-weight: 600; text-transform: uppercase; letter-spacing: 0.04em;
  color: var(--muted); padding: 0.7rem 1rem; border-bottom: 1px solid var(--border);
}
table.list td { padding: 0.75rem 1rem; border-bottom: 1px solid var(--border); vertical-align: top; }
table.list tr:last-child td { border-bottom: 0; }
table.list tbody tr:hover { background: var(--surface-2); }
.primary { font-weight: 600; }
.ref { font-family: var(--mono); font-size: 0.85rem; }
.ref .repo { color: var(--muted); }
.tag {
  display: inline-block; font-family: var(--mono); font-size: 0.8rem; padding: 0 0.4rem;
  border-radius: 5px; background: var(--surface-2); border: 1px solid var(--border); color: var(--text);
}
.why { margin: 0.25rem 0 0; font-size: 0.85rem; color: var(--bad); }
.reason { margin: 0.25rem 0 0; font-size: 0.85rem; color: var(--muted); }
.nowrap { white-space: nowrap; }
.on-phone { display: none; }
ul.plain { list-style: none; margin: 0; padding: 0; }
ul.plain li + li { margin-top: 0.25rem; }
ul.spaced li + li { margin-top: 0.9rem; }
.steps { display: inline-flex; align-items: center; gap: 0.5rem; white-space: nowrap; }
.dots { display: flex; gap: 0.25rem; list-style: none; margin: 0; padding: 0; align-items: center; }
.dot { width: 0.7rem; height: 0.7rem; border-radius: 50%; background: var(--idle-bg); border: 2px solid var(--idle); opacity: 0.7; }
.dot-ok { background: var(--ok); border-color: var(--ok); opacity: 1; }
.dot-bad { background: var(--bad); border-color: var(--bad); opacity: 1; }
.dot-warn { background: var(--warn); border-color: var(--warn); opacity: 1; }
.dot-active { background: var(--active-bg); border-color: var(--active); opacity: 1; }
.dots-count { font-size: 0.8rem; color: var(--muted); }

.empty { padding: 2.5rem 1rem; text-align: center; color: var(--muted); }
.empty strong { display: block; color: var(--text); font-size: 1.05rem; margin-bottom: 0.25rem; }
.pager { display: flex; justify-content: space-between; gap: 1rem; margin-top: 1rem; }
.pager a { font-weight: 600; }
.live { font-size: 0.8rem; color: var(--muted); margin: 0 0 0 auto; }

.facts {
  display: grid; grid-template-columns: repeat(auto-fill, minmax(13rem, 1fr)); gap: 1rem 1.5rem;
  margin: 0; padding: 1.1rem 1.25rem;
}
.facts div { min-width: 0; }
.facts dt { font-size: 0.75rem; font-weight: 600; text-transform: uppercase; letter-spacing: 0.04em; color: var(--muted); }
.facts dd { margin: 0.15rem 0 0; }

.callout {
  border-radius: var(--radius); padding: 0.9rem 1.1rem; margin: 1rem 0;
  border: 1px solid var(--border); border-left: 4px solid var(--bad); background: var(--surface);
  box-shadow: var(--shadow);
}
.callout-warn { border-left-color: var(--warn); }
.callout h2 { margin: 0 0 0.25rem; font-size: 1rem; }
.callout .message { font-size: 1rem; font-weight: 500; }
.retry { display: flex; flex-wrap: wrap; align-items: center; gap: 0.5rem 1rem; margin-top: 0.75rem; }
.retry p { margin: 0; font-size: 0.85rem; color: var(--muted); }

.timeline { list-style: none; margin: 0; padding: 0; }
.step { position: relative; display: grid; grid-template-columns: 2.25rem minmax(0, 1fr); gap: 0 0.75rem; padding-bottom: 1rem; }
.step::before {
  content: ""; position: absolute; left: calc(1.125rem - 1px); top: 2.25rem; bottom: 0; width: 2px; background: var(--border);
}
.step:last-child::before { display: none; }
.marker {
  width: 2.25rem; height: 2.25rem; border-radius: 50%; display: grid; place-items: center;
  font-weight: 700; font-size: 0.9rem; border: 2px solid var(--idle); color: var(--idle); background: var(--surface);
}
.marker-ok { border-color: var(--ok); color: var(--ok); background: var(--ok-bg); }
.marker-bad { border-color: var(--bad); color: var(--bad); background: var(--bad-bg); }
.marker-warn { border-color: var(--warn); color: var(--warn); background: var(--warn-bg); }
.marker-active { border-color: var(--active); color: var(--active); background: var(--active-bg); }
.step-body { padding: 0.9rem 1.1rem; min-width: 0; }
.step-queued .step-body { opacity: 0.75; }
.step-head { display: flex; flex-wrap: wrap; align-items: center; gap: 0.35rem 0.75rem; }
.step-head h3 { margin-right: auto; }
.step-meta { color: var(--muted); font-size: 0.85rem; margin: 0.15rem 0 0; }
.report { margin: 0.75rem 0 0; padding: 0.6rem 0.8rem; border-radius: 8px; background: var(--surface-2); }
.report .description { font-size: 1rem; font-weight: 500; margin: 0; }
.report .context { font-size: 0.85rem; color: var(--muted); margin: 0.15rem 0 0; }
.report .link { margin: 0.35rem 0 0; font-size: 0.9rem; }
.report-bad { background: var(--bad-bg); }
.report-warn { background: var(--warn-bg); }
a.external::after { content: " ↗"; font-size: 0.85em; }
.unlinked { font-family: var(--mono); font-size: 0.85rem; color: var(--muted); }

.log { list-style: none; margin: 0.85rem 0 0; padding: 0; border-top: 1px solid var(--border); }
.log li { display: grid; grid-template-columns: 5rem minmax(0, 1fr); gap: 0.75rem; padding: 0.45rem 0; border-bottom: 1px dashed var(--border); font-size: 0.9rem; }
.log li:last-child { border-bottom: 0; }
.log time { color: var(--muted); font-size: 0.8rem; font-variant-numeric: tabular-nums; padding-top: 0.1rem; }
.log .what { min-width: 0; }
.attempt-error {
  margin: 0.3rem 0 0; padding: 0.45rem 0.65rem; border-radius: 6px; font-weight: 500;
  color: var(--bad); background: var(--bad-bg); border-left: 3px solid var(--bad);
}
.attempt-error.retrying { color: var(--warn); background: var(--warn-bg); border-left-color: var(--warn); }
.refused { color: var(--warn); font-weight: 600; }
details.earlier { margin-top: 0.6rem; font-size: 0.9rem; }
details.earlier summary { cursor: pointer; color: var(--muted); }

.payload {
  margin: 0; padding: 1rem 1.1rem; overflow-x: auto; max-height: 70vh; white-space: pre;
  background: var(--surface-2); border-radius: var(--radius); border: 1px solid var(--border); line-height: 1.45;
}
.error-page { max-width: 40rem; margin: 3rem auto; text-align: center; }
.error-page .status { font-size: 3rem; font-weight: 700; color: var(--muted); margin: 0; }
.error-page p { font-size: 1.05rem; }

@media (max-width: 640px) {
  :root { font-size: 14.5px; }
  .site-header-inner { gap: 1rem; padding: 0 1rem; }
  main { padding: 1rem 0.75rem 3rem; }
  h1 { font-size: 1.3rem; }
  /* On a phone each row becomes a small card: what, when, then the details. */
  table.list thead { display: none; }
  table.list, table.list tbody { display: block; }
  table.list tr {
    display: grid; grid-template-columns: auto minmax(0, 1fr) auto; gap: 0.4rem 0.6rem;
    align-items: center; padding: 0.8rem 1rem; border-bottom: 1px solid var(--border);
  }
  table.list tr:last-child { border-bottom: 0; }
  table.list td { display: block; padding: 0; border: 0; min-width: 0; }
  .c-state { grid-area: 1 / 1; }
  .c-chain { grid-area: 1 / 2; }
  .c-started { grid-area: 1 / 3; }
  .c-image { grid-area: 2 / 1 / 3 / 4; }
  .c-steps { grid-area: 3 / 1 / 4 / 3; }
  .c-duration { grid-area: 3 / 3; }
  .c-started, .c-duration, .c-source { text-align: right; color: var(--muted); font-size: 0.9rem; }
  .c-outcome { grid-area: 1 / 1 / 2 / 3; }
  .c-source { grid-area: 1 / 3; }
  .c-received { grid-area: 2 / 1 / 3 / 4; }
  .c-images { grid-area: 3 / 1 / 4 / 4; }
  .c-runs { grid-area: 4 / 1 / 5 / 4; }
  .on-phone { display: inline; }
  td .none { display: none; }
  .filters { padding: 0.75rem; }
  .filters .actions { flex: 1 1 100%; }
  .step { grid-template-columns: 1.75rem minmax(0, 1fr); gap: 0 0.5rem; }
  .marker { width: 1.75rem; height: 1.75rem; font-size: 0.8rem; }
  .step::before { left: calc(0.875rem - 1px); top: 1.75rem; }
  .step-body { padding: 0.75rem 0.85rem; }
  .log li { grid-template-columns: minmax(0, 1fr); gap: 0; }
  .facts { grid-template-columns: repeat(auto-fill, minmax(9rem, 1fr)); padding: 0.9rem 1rem; }
}
@media (prefers-reduced-motion: no-preference) {
  .badge-active .badge-icon { animation: pulse 1.6s ease-in-out infinite; }
  @keyframes pulse { 50% { opacity: 0.35; } }
}
`

/** A small chain link, so the tab is recognisable without fetching anything from elsewhere. */
export const FAVICON = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><g fill="none" stroke-width="4"><circle cx="12" cy="16" r="7" stroke="#2459d6"/><circle cx="21" cy="16" r="7" stroke="#17703a"/></g></svg>`

/**
 * The pages' only script, and all of it optional: every page works without it. It shows times in
 * the reader's time zone (UTC on hover), lets a digest be copied, and keeps a page that follows a
 * running run up to date by fetching the page again and swapping in its live regions; a region
 * holding a field being typed in is left for later, and open details stay open.
 */
export const SCRIPT = `"use strict";
(() => {
  const pad = (n) => String(n).padStart(2, "0");
  const utc = (d) => d.toISOString().slice(0, 19).replace("T", " ") + " UTC";
  const zone = (d) => {
    try {
      const part = new Intl.DateTimeFormat(undefined, { timeZoneName: "short" })
        .formatToParts(d).find((p) => p.type === "timeZoneName");
      return part ? " " + part.value : "";
    } catch (error) {
      return "";
    }
  };
  const day = (d) => d.getFullYear() + "-" + pad(d.getMonth() + 1) + "-" + pad(d.getDate());
  const clock = (d) => pad(d.getHours()) + ":" + pad(d.getMinutes()) + ":" + pad(d.getSeconds());

  function localTimes(root) {
    for (const time of root.querySelectorAll("time[datetime][data-format]")) {
      const d = new Date(time.getAttribute("datetime"));
      if (Number.isNaN(d.getTime())) continue;
      const local = day(d) + " " + clock(d) + zone(d);
      const format = time.dataset.format;
      if (format === "instant") {
        time.textContent = local;
        time.title = utc(d);
      } else if (format === "clock") {
        const since = new Date(time.dataset.since || "");
        time.textContent = !Number.isNaN(since.getTime()) && day(since) === day(d) ? clock(d) : day(d) + " " + clock(d);
        time.title = local + " · " + utc(d);
      } else {
        time.title = local + " · " + utc(d);
      }
    }
    for (const hint of root.querySelectorAll("[data-tz-hint]")) {
      hint.textContent = "times in your time zone, UTC on hover";
    }
  }

  function copyButtons(root) {
    for (const button of root.querySelectorAll("button[data-copy]")) {
      button.hidden = false;
      button.addEventListener("click", async () => {
        const text = button.dataset.copy || "";
        let copied = false;
        try {
          await navigator.clipboard.writeText(text);
          copied = true;
        } catch (error) {
          const field = document.createElement("textarea");
          field.value = text;
          document.body.append(field);
          field.select();
          copied = document.execCommand("copy");
          field.remove();
        }
        const label = button.textContent;
        button.textContent = copied ? "Copied" : "Select it";
        setTimeout(() => { button.textContent = label; }, 1500);
      });
    }
  }

  /** A region holding the focus or a changed field: replacing it would lose what is typed. */
  function busy(region) {
    const active = document.activeElement;
    if (active && active !== document.body && region.contains(active) && /^(INPUT|TEXTAREA|SELECT)$/.test(active.tagName)) return true;
    for (const field of region.querySelectorAll("input, textarea")) {
      if (field.value !== field.defaultValue) return true;
    }
    return false;
  }

  const seen = new WeakMap();
  function swap(region, fresh) {
    const html = fresh.innerHTML;
    if (seen.get(region) === html || busy(region)) return;
    const open = new Map();
    for (const details of region.querySelectorAll("details[id]")) open.set(details.id, details.open);
    region.replaceChildren(...fresh.childNodes);
    seen.set(region, html);
    for (const details of region.querySelectorAll("details[id]")) {
      if (open.has(details.id)) details.open = open.get(details.id);
    }
    localTimes(region);
    copyButtons(region);
  }

  function follow(seconds) {
    const status = () => document.querySelector("[data-live-status]");
    const say = (text) => { const s = status(); if (s) s.textContent = text; };
    say("Updating live.");
    let failures = 0;
    const tick = async () => {
      if (document.hidden) return setTimeout(tick, seconds * 1000);
      try {
        const response = await fetch(location.href, { cache: "no-store", credentials: "same-origin", headers: { accept: "text/html" } });
        if (!response.ok) throw new Error("HTTP " + response.status);
        const next = new DOMParser().parseFromString(await response.text(), "text/html");
        for (const region of document.querySelectorAll("[data-live-region][id]")) {
          const fresh = next.getElementById(region.id);
          if (fresh) swap(region, fresh);
        }
        failures = 0;
        if (!next.body.dataset.liveSeconds) {
          document.body.removeAttribute("data-live-seconds");
          say("Up to date: nothing on this page is going any more.");
          return;
        }
        say("Updating live.");
      } catch (error) {
        failures += 1;
        say("Could not update (" + error.message + "); trying again.");
      }
      setTimeout(tick, seconds * 1000 * Math.min(2 ** failures, 12));
    };
    setTimeout(tick, seconds * 1000);
  }

  const start = () => {
    localTimes(document);
    copyButtons(document);
    const seconds = Number(document.body.dataset.liveSeconds);
    if (seconds > 0) follow(seconds);
  };
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
`

function version(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 12)
}

export const STYLESHEET_PATH = '/assets/hookchain.css'
export const SCRIPT_PATH = '/assets/hookchain.js'
/** Versioned by content, as the stylesheet. */
export const SCRIPT_HREF = `${SCRIPT_PATH}?v=${version(SCRIPT)}`
export const FAVICON_PATH = '/assets/favicon.svg'
export const FAVICON_HREF = `${FAVICON_PATH}?v=${version(FAVICON)}`
/** Versioned by content, so browsers may keep it for a year and still see every change. */
export const STYLESHEET_HREF = `${STYLESHEET_PATH}?v=${version(STYLESHEET)}`
