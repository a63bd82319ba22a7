"""The VK channel (vk-api): a community's private messages as conversations of a line."""

from channels.vk.kind import KIND, VkConfig, VkKind, VkSender
from channels.vk.parse import parse

__all__ = ["KIND", "VkConfig", "VkKind", "VkSender", "parse"]
