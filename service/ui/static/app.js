// The playground: as the text changes (debounced, the previous requests aborted), ask the service
// for the sentiment with an explanation and for the next words, and show both. Everything the
// service or the user wrote is inserted as text (textContent, text nodes), never as HTML.
// A service with API keys answers 401 without one: the page then asks for the key and keeps it
// for the browser tab (sessionStorage, shared with /docs).
"use strict";

const DEBOUNCE_MS = 250;
const UNSURE = [0.35, 0.65]; // probabilities in this band are shown as "unsure"
const TOP_K = 5;
const KEY = "api-key"; // where the tab keeps the API key

const $ = (id) => document.getElementById(id);
const input = $("text");
let pending = null; // the AbortController of the requests in flight
let timer = 0;

function setStatus(message, isError) {
  $("status").textContent = message;
  $("status").className = isError ? "error" : "";
}

function clearAnswers() {
  $("fill").style.width = "0";
  $("bar").setAttribute("aria-valuenow", "0.5");
  $("probability").textContent = "\u2013";
  $("probability").removeAttribute("data-value");
  $("label").textContent = "\u2013";
  $("words").replaceChildren();
  $("word-info").textContent = "";
  $("suggestions").replaceChildren();
}

// A readable sentence for an error answer: 422 lists field errors, the rest carry a sentence.
function describeError(status, body) {
  const detail = body && body.detail;
  let text = typeof detail === "string" ? detail : "";
  if (Array.isArray(detail)) {
    text = detail.map((e) => (e && e.msg ? String(e.msg) : "")).filter(Boolean).join("; ");
  }
  if (status === 503) return "The service is busy or still loading (503): " + text;
  if (status === 422 || status === 413) return "The service refused this text: " + text;
  return "The service answered " + status + (text ? ": " + text : "");
}

function keyHeaders() {
  const key = sessionStorage.getItem(KEY);
  return key ? { Authorization: "Bearer " + key } : {};
}

async function post(path, payload, signal) {
  const response = await fetch(path, {
    method: "POST",
    headers: { "Content-Type": "application/json", ...keyHeaders() },
    body: JSON.stringify(payload),
    signal,
  });
  if (response.status === 401) {
    $("key-form").hidden = false;
    throw new Error("This service needs an API key (401): enter it below.");
  }
  let body = null;
  try { body = await response.json(); } catch (_) { /* not JSON: described by status */ }
  if (!response.ok) throw new Error(describeError(response.status, body));
  return body;
}

function formatWeight(weight) {
  return (weight >= 0 ? "+" : "\u2212") + Math.abs(weight).toFixed(3);
}

function showSentiment(answer) {
  const p = answer.positive_probability;
  $("fill").style.width = (p * 100).toFixed(1) + "%";
  $("bar").setAttribute("aria-valuenow", String(p));
  $("probability").textContent = p.toFixed(3);
  $("probability").dataset.value = String(p);
  const unsure = p >= UNSURE[0] && p <= UNSURE[1];
  $("label").textContent = unsure ? "unsure (leaning " + answer.label + ")" : answer.label;
}

function showWords(text, explanation) {
  const words = explanation.words;
  const largest = Math.max(1e-6, ...words.map((w) => Math.abs(w.weight)));
  const out = [];
  let at = 0;
  for (const w of words) {
    if (w.start > at) out.push(document.createTextNode(text.slice(at, w.start)));
    const span = document.createElement("span");
    const direction = w.weight >= 0 ? "positive" : "negative";
    const about = formatWeight(w.weight) + " towards " + direction;
    span.className = "w " + (w.weight >= 0 ? "pos" : "neg");
    span.style.setProperty("--a", (0.08 + 0.67 * Math.abs(w.weight) / largest).toFixed(3));
    span.textContent = text.slice(w.start, w.end);
    span.title = about;
    span.tabIndex = 0;
    span.dataset.weight = String(w.weight);
    span.setAttribute("aria-label", span.textContent + ": " + about);
    const tell = () => { $("word-info").textContent = "\u201c" + span.textContent + "\u201d " + about; };
    span.addEventListener("focus", tell);
    span.addEventListener("mouseenter", tell);
    out.push(span);
    at = w.end;
  }
  if (at < text.length) out.push(document.createTextNode(text.slice(at)));
  $("words").replaceChildren(...out);
  $("word-info").textContent = explanation.unit === "span"
    ? "Long text: each highlight is a run of " + explanation.span_words + " words." : "";
}

function showSuggestions(answer) {
  const buttons = answer.predictions.map((prediction) => {
    const button = document.createElement("button");
    button.type = "button";
    button.textContent = prediction.word;
    button.title = "probability " + prediction.probability.toFixed(3);
    button.addEventListener("click", () => appendWord(prediction.word));
    return button;
  });
  $("suggestions").replaceChildren(...buttons);
}

function showVersions(sentiment, nextWord) {
  $("versions").textContent = "Answered by sentiment model version " + sentiment.model_version +
    " and next-word model version " + nextWord.model_version + ".";
}

function appendWord(word) {
  const text = input.value;
  const glue = /^[!?.,;:)]+$/.test(word) || text === "" || /\s$/.test(text) ? "" : " ";
  input.value = text + glue + word;
  input.focus();
  update();
}

async function update() {
  clearTimeout(timer);
  if (pending) pending.abort();
  const text = input.value;
  if (!text.trim()) {
    pending = null;
    clearAnswers();
    setStatus("", false);
    return;
  }
  const controller = new AbortController();
  pending = controller;
  try {
    const [sentiment, nextWord] = await Promise.all([
      post("sentiment", { text, explain: true }, controller.signal),
      // The playground appends the next word; completing a typed word is the API's (`complete`).
      post("next-word", { text, top_k: TOP_K, complete: false }, controller.signal),
    ]);
    showSentiment(sentiment);
    showWords(text, sentiment.explanation);
    showSuggestions(nextWord);
    showVersions(sentiment, nextWord);
    setStatus("", false);
  } catch (error) {
    if (controller.signal.aborted) return; // a newer text replaced this one
    clearAnswers();
    const message = error instanceof TypeError ? "Cannot reach the service." : error.message;
    setStatus(message, true);
  } finally {
    if (pending === controller) pending = null;
  }
}

function scheduleUpdate() {
  clearTimeout(timer);
  if (pending) pending.abort();
  timer = setTimeout(update, DEBOUNCE_MS);
}

const band = $("band");
band.style.left = UNSURE[0] * 100 + "%";
band.style.width = (UNSURE[1] - UNSURE[0]) * 100 + "%";
input.addEventListener("input", scheduleUpdate);
$("key-form").addEventListener("submit", (event) => {
  event.preventDefault();
  sessionStorage.setItem(KEY, $("key").value.trim());
  $("key-form").hidden = true;
  update();
});
if (input.value.trim()) update();
