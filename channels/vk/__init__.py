"""The VK channel (vk-api): a community's private messages as conversations of a line."""

from channels.vk.config import VkConfig
from channels.vk.kind import VkKind
from channels.vk.parse import parse
from channels.vk.send import VkSender

__all__ = ["VkConfig", "VkKind", "VkSender", "parse"]
