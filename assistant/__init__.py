"""Assistant layer: grounded answers, conversations, (later) letters and training.

web_ui and the CLI use :class:`Assistant`, the config models and the errors below.
"""

from .config import AssistantConfig, ExtractiveConfig, LlamaCppConfig, LLMConfig, OpenAIConfig
from .errors import AssistantError, ConfigurationError, NotFoundError, ProviderError
from .identity import Principal
from .service import Assistant

__all__ = ["Assistant", "AssistantConfig", "ExtractiveConfig", "OpenAIConfig", "LlamaCppConfig", "LLMConfig",
           "Principal", "AssistantError", "ConfigurationError", "NotFoundError", "ProviderError"]
