// The playground: as the text changes (debounced, the previous requests aborted), ask the service
// for the sentiment with an explanation and for word suggestions, and show both. Suggestions
// follow POST /next-word's own rule (no `complete` field): inside a word they complete it, and
// tapping one replaces the typed fragment; after a space or a whole word they are next words,
// appended. The likeliest three-word phrase is one more candidate when it is likely enough; an
// empty box gets the likeliest first words. Everything the service or the user wrote is
// inserted as text (textContent, text nodes), never as HTML.
// A service with API keys answers 401 without one: the page then asks for the key once and keeps
// it for the browser tab (sessionStorage, shared with /docs); every later call sends it.
"use strict";

const DEBOUNCE_MS = 250;
const UNSURE = [0.35, 0.65]; // probabilities in this band are shown as "unsure"
const TOP_K = 5;
const PHRASE_WORDS = 3;
const TUNING = {
  // A phrase is shown when its probability (the product of its words') is at least this: about
  // one phrase in five clears it on the full models, mostly set phrases ("one of the").
  phraseMinProbability: 0.02,
};
// What the service reads as the inside of a word: letters, digits and apostrophes.
const FRAGMENT = /(?:[\p{L}\p{N}]|')+$/u;
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
  clearSuggestions();
}

function clearSuggestions() {
  $("suggestions").replaceChildren();
  delete $("suggestions").dataset.text;
  $("completing").textContent = "";
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

function suggestionButton(text, probability, completing, className) {
  const button = document.createElement("button");
  button.type = "button";
  button.textContent = text;
  button.title = "probability " + probability.toFixed(3);
  if (className) button.className = className;
  button.addEventListener("click", () => insertWords(text, completing));
  return button;
}

function showSuggestions(answer, text) {
  const completing = answer.completing;
  const buttons = answer.predictions.map(
    (p) => suggestionButton(p.word, p.probability, completing, ""));
  const best = (answer.phrases || [])[0];
  if (best && best.words.length > 1 && best.probability >= TUNING.phraseMinProbability) {
    buttons.push(suggestionButton(best.text, best.probability, completing, "phrase"));
  }
  $("suggestions").replaceChildren(...buttons);
  $("suggestions").dataset.text = text; // what they answer (for tests and tools)
  $("suggestions").dataset.completing = completing === null ? "" : completing;
  if (completing === null) {
    $("completing").textContent = "";
  } else if (buttons.length) {
    $("completing").textContent = "Completing \u201c" + completing + "\u201d";
  } else {
    $("completing").textContent = "No word the model knows starts with \u201c" + completing + "\u201d";
  }
}

function showVersions(sentiment, nextWord) {
  $("versions").textContent = "Answered by sentiment model version " + sentiment.model_version +
    " and next-word model version " + nextWord.model_version + ".";
}

// Suggestions are lower case: a completion takes the case of the typed fragment ("Mov" gives
// "Movie", "MOV" gives "MOVIE"), as training/keystrokes.py types with them.
function withCase(words, fragment) {
  const letters = [...fragment].filter((c) => c.toLowerCase() !== c.toUpperCase());
  const upper = (c) => c === c.toUpperCase();
  if (letters.length > 1 && letters.every(upper)) return words.toUpperCase();
  if (letters.length && upper(fragment[0]) && letters[0] === fragment[0]) {
    return words.charAt(0).toUpperCase() + words.slice(1);
  }
  return words;
}

// A completion (or a phrase that starts with one) replaces the fragment of the word being typed;
// next words are appended. Either way a space follows, as after a word typed by hand.
function insertWords(words, completing) {
  let text = input.value;
  let glue = text === "" || /\s$/.test(text) ? "" : " ";
  if (completing !== null) {
    // The fragment the answer completed, or (the text changed since) the one typed now.
    const fragment = text.endsWith(completing) ? completing : (text.match(FRAGMENT) || [""])[0];
    text = text.slice(0, text.length - fragment.length);
    words = withCase(words, fragment);
    glue = ""; // in the fragment's place
  }
  input.value = text + glue + words + " ";
  input.focus();
  update();
}

async function update() {
  clearTimeout(timer);
  if (pending) pending.abort();
  const text = input.value;
  const controller = new AbortController();
  pending = controller;
  const suggesting = { text, top_k: TOP_K, phrase_words: PHRASE_WORDS };
  try {
    if (!text.trim()) { // nothing to weigh yet: the likeliest first words only
      const nextWord = await post("next-word", suggesting, controller.signal);
      clearAnswers();
      showSuggestions(nextWord, text);
      setStatus("", false);
      return;
    }
    const [sentiment, nextWord] = await Promise.all([
      post("sentiment", { text, explain: true }, controller.signal),
      post("next-word", suggesting, controller.signal),
    ]);
    showSentiment(sentiment);
    showWords(text, sentiment.explanation);
    showSuggestions(nextWord, text);
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
update();
