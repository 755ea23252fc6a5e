"""Request and response bodies of the HTTP API."""

from typing import Annotated, Any, Literal

from fastapi.exceptions import RequestValidationError
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    StrictStr,
    model_validator,
)
from pydantic_core import PydanticCustomError

from service.settings import Settings


def check_text(text: str) -> str:
    """A text must hold more than whitespace and be encodable as UTF-8."""
    if not text.strip():
        raise PydanticCustomError("blank_text", "Text must not be empty or only whitespace")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise PydanticCustomError(
            "invalid_unicode", "Text holds an unpaired surrogate (\\ud800-\\udfff)"
        ) from None
    return text


Text = Annotated[StrictStr, AfterValidator(check_text)]


def check_encodable(text: str) -> str:
    """A text (maybe empty) must be encodable as UTF-8."""
    return check_text(text) if text.strip() else text


TypedText = Annotated[StrictStr, AfterValidator(check_encodable)]


class SentimentRequest(BaseModel):
    """One text or a batch of texts, not both."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"text": "a great movie"},
                {"texts": ["fun", "dull"]},
                {"text": "a great movie", "explain": True},
            ]
        },
    )

    text: Text | None = Field(default=None, description="One text.")
    texts: list[Text] | None = Field(
        None, min_length=1, description="A batch of texts, answered in order."
    )
    explain: StrictBool = Field(
        default=False,
        description="Also say how much each word moved the probability (slower: one model "
        "call per word; see `Explanation`).",
    )

    @model_validator(mode="after")
    def check_one_of(self) -> "SentimentRequest":
        """Exactly one of `text` and `texts`."""
        if (self.text is None) == (self.texts is None):
            raise PydanticCustomError("text_xor_texts", "Give exactly one of `text` or `texts`")
        return self


class NextWordRequest(BaseModel):
    """A text as typed so far and how many suggestions to return."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"text": "i love this", "top_k": 5},
                {"text": "i loved this mov", "top_k": 3},
                {"text": ""},
                {"text": "i loved this ", "phrase_words": 3, "min_probability": 0.05},
            ]
        },
    )

    text: TypedText = Field(
        description="The text so far. When it ends inside a word (no trailing space or "
        "punctuation), that fragment is completed (`completing` says which; the fragment "
        "itself is never suggested), unless it is a whole word of the vocabulary that the "
        "model finds likelier than all the longer words it begins together ('i love this'); "
        "otherwise the words after the text are predicted. Empty or only spaces: the "
        "likeliest first words of a text."
    )
    top_k: StrictInt = Field(default=5, ge=1, description="How many words to return.")
    complete: StrictBool | None = Field(
        default=None,
        description="Whether to complete the text's last fragment. null (default): as `text` "
        "says ('i loved this mov' completes 'mov', 'i love this' predicts the word after "
        "'this'). true: always complete the trailing fragment, even a whole word (what a "
        "keyboard sends while a word is being typed; after a space it completes the empty "
        "fragment: every word). false: always the next word.",
    )
    min_probability: float = Field(
        default=0.0,
        ge=0,
        le=1,
        allow_inf_nan=False,
        description="Leave out suggestions (and phrases) less likely than this: fewer or none.",
    )
    phrase_words: StrictInt | None = Field(
        default=None,
        ge=1,
        le=3,
        description="Also return `phrases`: continuations of up to this many words.",
    )


def check_limits(settings: Settings, request: SentimentRequest | NextWordRequest) -> None:
    """422 for texts over the configured length, batch size or `top_k` limits."""
    errors: list[dict[str, Any]] = []
    located: list[tuple[list[str | int], str | None]] = [(["text"], request.text)]
    if isinstance(request, NextWordRequest) and request.top_k > settings.max_top_k:
        errors.append(_error("less_than_equal", ["top_k"], f"at most {settings.max_top_k}"))
    if isinstance(request, SentimentRequest) and request.texts is not None:
        count = len(request.texts)
        if count > settings.max_batch_texts:
            msg = f"at most {settings.max_batch_texts} texts, not {count}"
            errors.append(_error("too_long", ["texts"], msg))
        elif request.explain and count > settings.explain_max_texts:
            msg = f"at most {settings.explain_max_texts} texts with `explain`, not {count}"
            errors.append(_error("too_long", ["texts"], msg))
        located = [(["texts", i], text) for i, text in enumerate(request.texts)]
    for loc, text in located:
        if text is not None and len(text) > settings.max_text_chars:
            msg = f"at most {settings.max_text_chars} characters, not {len(text)}"
            errors.append(_error("string_too_long", loc, msg))
    if errors:
        raise RequestValidationError(errors)


def _error(kind: str, loc: list, msg: str) -> dict[str, Any]:
    return {"type": kind, "loc": ["body", *loc], "msg": f"Should be {msg}"}


class SentimentResult(BaseModel):
    """The sentiment of one text: `label` is positive when `positive_probability >= 0.5`."""

    positive_probability: float = Field(ge=0, le=1, examples=[0.97])
    label: Literal["positive", "negative"]

    @classmethod
    def of(cls, probability: float) -> "SentimentResult":
        """Round to 6 digits, then label the rounded value."""
        p = round(probability, 6)
        return cls(positive_probability=p, label="positive" if p >= 0.5 else "negative")


class SentimentResponse(SentimentResult):
    """The sentiment of the one text, and the model version that judged it."""

    model_version: str = Field(examples=["3"])


class SentimentBatchResponse(BaseModel):
    """The sentiment of each text, in request order."""

    results: list[SentimentResult]
    model_version: str = Field(examples=["3"])


class ExplainedWord(BaseModel):
    """A word (or span of words) of the text and how far it moved the probability."""

    word: str = Field(examples=["great"], description="`text[start:end]`, as sent.")
    start: int = Field(ge=0, examples=[2], description="Offset of its first character.")
    end: int = Field(ge=0, examples=[7], description="Offset just past its last character.")
    weight: float = Field(
        ge=-1,
        le=1,
        examples=[0.41],
        description="The probability minus the probability without this word: above 0, the "
        "word pushed the answer towards positive.",
    )


class Explanation(BaseModel):
    """Why the model answered as it did: each word the model reads, in text order, weighted by
    leaving it out (occlusion) on the served model (the whole blend)."""

    method: Literal["occlusion"] = "occlusion"
    unit: Literal["word", "span"] = Field(
        description="`word`: one word or punctuation run each; `span`: the text had more words "
        "than the service explains one by one, so each entry is a run of `span_words`."
    )
    span_words: int = Field(ge=1, examples=[1], description="Words per entry (1 for `word`).")
    words: list[ExplainedWord]


class ExplainedSentimentResult(SentimentResult):
    """The sentiment of one text and its explanation."""

    explanation: Explanation


class ExplainedSentimentResponse(ExplainedSentimentResult):
    """The sentiment of the one text, its explanation and the model version that judged it."""

    model_version: str = Field(examples=["3"])


class ExplainedSentimentBatchResponse(BaseModel):
    """The sentiment of each text with its explanation, in request order."""

    results: list[ExplainedSentimentResult]
    model_version: str = Field(examples=["3"])


class WordProbability(BaseModel):
    """A candidate next word and its probability."""

    word: str = Field(examples=["movie"])
    probability: float = Field(ge=0, le=1, examples=[0.21])


class PhraseProbability(BaseModel):
    """A continuation of several words and its probability: the product of each word's
    probability given the text and the phrase's words before it."""

    words: list[str] = Field(examples=[["movie", "is"]])
    text: str = Field(examples=["movie is"], description="The words joined by spaces.")
    probability: float = Field(ge=0, le=1, examples=[0.012])


class NextWordResponse(BaseModel):
    """The `top_k` likeliest suggestions, highest probability first."""

    predictions: list[WordProbability]
    completing: str | None = Field(
        default=None,
        examples=["mov"],
        description="The fragment the predictions complete (each starts with it, "
        "case-insensitively); null: they are the words after the text.",
    )
    phrases: list[PhraseProbability] | None = Field(
        default=None, description="With `phrase_words`: the likeliest continuations."
    )
    model_version: str = Field(examples=["3"])


class HealthResponse(BaseModel):
    """The process is up."""

    status: Literal["ok"] = "ok"


class ReadyResponse(BaseModel):
    """Both models are loaded; their versions, and the promoted ones."""

    status: Literal["ready"] = "ready"
    models: dict[str, str] = Field(
        examples=[{"sentiment": "3", "next_word": "3"}], description="the loaded versions"
    )
    policy: bool = Field(description="the model store has a promotion policy (policy.json)")
    promoted: dict[str, str | None] = Field(
        examples=[{"sentiment": "3", "next_word": "3"}],
        description="the version the policy promotes; null for a model it does not name, "
        "which serves its newest complete version",
    )


class ModelInfo(BaseModel):
    """A served model version and its `metadata.json`."""

    name: str
    version: str = Field(description="the loaded version, the one that answers")
    promoted_version: str | None = Field(
        description="the version the promotion policy names; null without one"
    )
    loaded_at: str
    metadata: dict[str, Any]


class ModelPromotion(BaseModel):
    """What the promotion policy asks of one model and what is loaded."""

    name: str
    promoted_version: str | None = Field(description="null: no policy names the model")
    loaded_version: str | None = Field(description="null: not loaded yet")
    problem: str | None = Field(
        description="why the promoted version is not the loaded one (kept serving meanwhile)"
    )


class ModelsResponse(BaseModel):
    """The served model versions, and what the promotion policy asks."""

    models: list[ModelInfo]
    policy: bool = Field(description="the model store has a promotion policy (policy.json)")
    promotion: list[ModelPromotion]


class ErrorResponse(BaseModel):
    """What went wrong: a sentence, or a list of field errors (422)."""

    detail: str | list[dict[str, Any]]
