"""The storefront: product pages, cart, behaviour events and the chat widget's host page."""
