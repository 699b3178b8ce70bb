"""OpenAI-compatible providers: default base URL, whether they bill, and how each asks for thinking on or off.

Every provider is spoken to with the same `openai` client; only the base URL, the key, the model and a
few request fields differ. `LLM_PROVIDER` names one of these; `LLM_BASE_URL` overrides the URL.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

Thinking = Literal["auto", "on", "off"]


@dataclass(frozen=True)
class Provider:
    name: str
    default_base_url: str | None  # None: must be given (LLM_BASE_URL)
    default_model: str | None
    paid: bool  # False: local servers; their calls cost nothing in the budget
    needs_key: bool
    thinking_style: Literal["deepseek", "qwen", "none"] = "none"

    def request_extras(
        self, thinking: Thinking, reasoning_effort: str | None, max_tokens: int | None
    ) -> dict[str, Any]:
        """Keyword arguments for `chat.completions.create` beyond model/messages/tools."""
        extras: dict[str, Any] = {}
        body: dict[str, Any] = {}
        if thinking != "auto":
            if self.thinking_style == "deepseek":
                body["thinking"] = {"type": "enabled" if thinking == "on" else "disabled"}
            elif self.thinking_style == "qwen":
                body["enable_thinking"] = thinking == "on"
        if body:
            extras["extra_body"] = body
        if reasoning_effort:
            extras["reasoning_effort"] = reasoning_effort
        if max_tokens:
            extras["max_tokens"] = max_tokens
        return extras


PROVIDERS: dict[str, Provider] = {
    "deepseek": Provider(
        "deepseek", "https://api.deepseek.com", "deepseek-flash", paid=True, needs_key=True, thinking_style="deepseek"
    ),
    "openai": Provider("openai", "https://api.openai.com/v1", None, paid=True, needs_key=True),
    "qwen": Provider(
        "qwen",
        "https://dashscope-intl.aliyuncs.com/compatible-mode/v1",
        None,
        paid=True,
        needs_key=True,
        thinking_style="qwen",
    ),
    "dashscope": Provider(
        "dashscope",
        "https://dashscope.aliyuncs.com/compatible-mode/v1",
        None,
        paid=True,
        needs_key=True,
        thinking_style="qwen",
    ),
    "vllm": Provider("vllm", "http://127.0.0.1:8000/v1", None, paid=False, needs_key=False),
    "ollama": Provider("ollama", "http://127.0.0.1:11434/v1", None, paid=False, needs_key=False),
    "offline": Provider("offline", None, None, paid=False, needs_key=False),
}
