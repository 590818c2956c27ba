"""Custom Rasa input channels: authenticated REST, the storefront's Socket.IO, WeCom/WeChat,
and the stock Telegram/Slack/Facebook connectors with product cards degraded to text + links."""
