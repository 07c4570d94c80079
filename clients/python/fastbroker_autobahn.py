"""FastBroker subscription options for Autobahn|Python.

Autobahn's ``SubscribeOptions`` only carries the options the WAMP spec defines, so it cannot
send FastBroker's content filters (SPEC §5.1) or consumer-group types (§5.2). Importing this
module teaches Autobahn's SUBSCRIBE message to carry extra options; ``FastBrokerSubscribeOptions``
then sends them::

    from fastbroker_autobahn import FastBrokerSubscribeOptions

    await session.subscribe(on_trade, "com.example.trades",
        options=FastBrokerSubscribeOptions(
            filter="price > :min AND begins_with(#sym, :prefix)",
            filter_values={":min": 100, ":prefix": "AB"},
            filter_names={"#sym": "symbol"}))

Options are sent with a leading underscore (``_filter``, ``_filter_values``, ``_filter_names``,
``_type``, ``_group``), the WAMP spec's form for implementation-specific options; FastBroker
accepts both spellings. A router that does not know them ignores them.
"""

from autobahn.wamp import message, types

__all__ = ["FastBrokerSubscribeOptions"]


class _SubscribeWithExtras(message.Subscribe):
    """SUBSCRIBE that merges extra, implementation-specific options into its Options dict."""

    __slots__ = ("extra_options",)

    def __init__(self, request=None, topic=None, extra_options=None, **kwargs):
        super().__init__(request, topic, **kwargs)
        self.extra_options = extra_options or {}

    def marshal_options(self):
        options = super().marshal_options()
        options.update(self.extra_options)
        return options


# Autobahn's session builds SUBSCRIBE through `message.Subscribe`; the subclass accepts the
# same arguments, so existing subscribes are unaffected.
if message.Subscribe is not _SubscribeWithExtras:
    _SubscribeWithExtras.MESSAGE_TYPE = message.Subscribe.MESSAGE_TYPE
    message.Subscribe = _SubscribeWithExtras


class FastBrokerSubscribeOptions(types.SubscribeOptions):
    """``SubscribeOptions`` plus FastBroker's filter and consumer-group options."""

    __slots__ = ("extra_options",)

    def __init__(self, filter=None, filter_values=None, filter_names=None, type=None, group=None, **kwargs):
        super().__init__(**kwargs)
        extra = {}
        if filter is not None:
            extra["_filter"] = filter
        if filter_values is not None:
            extra["_filter_values"] = filter_values
        if filter_names is not None:
            extra["_filter_names"] = filter_names
        if type is not None:
            extra["_type"] = type
        if group is not None:
            extra["_group"] = group
        self.extra_options = extra

    def message_attr(self):
        attrs = super().message_attr()
        attrs["extra_options"] = self.extra_options
        return attrs
