"""The VK channel (vk-api): a community's private messages as conversations of a line."""

from channels.vk.kind import VkConfig, VkKind, VkSender
from channels.vk.parse import parse

__all__ = ["VkConfig", "VkKind", "VkSender", "parse"]
