"""Message templates: the format strings a program prints its errors from, and the
report lines they printed."""

from agentctx.messages import HOLE, anchor, matches, message_templates, tokens


def _shown(templates: tuple[str, ...]) -> list[str]:
    return [t.replace(HOLE, "{}") for t in templates]


def test_format_strings_of_every_kind_keep_their_words_and_mark_their_placeholders():
    code = "\n".join(
        [
            'raise TypeError("write() argument must be str, not {}".format(type(obj).__name__))',
            'explanation = ["%s contains %d more items, first extra item: %s" % (side, n, x)]',
            "warn(f'variable {name!r} has _Unsigned attribute but is not of integer type')",
            "throw new Error(`cannot resolve the module ${name} from the cart`);",
            'return fmt.Errorf("not enough stock for %v: have %d", sku, n)',
            'panic!("could not parse the order line {:?} at {}", line, pos);',
            'raise ArgumentError, "unknown payment method #{method} for this order"',
            "msg = '%(field)s must be between %(low)d and %(high)d percent'",
        ]
    )
    assert _shown(message_templates(code)) == [
        "write() argument must be str, not{}",
        "{}contains{}more items, first extra item:{}",
        "variable{}has _Unsigned attribute but is not of integer type",
        "cannot resolve the module{}from the cart",
        "not enough stock for{}: have{}",
        "could not parse the order line{}at{}",
        "unknown payment method{}for this order",
        "{}must be between{}and{}percent",
    ]


def test_docstrings_short_strings_and_data_are_no_messages():
    code = (
        'def f(x):\n    """Raise a clear error when the order is not valid at all."""\n'
        '    key = "order_id"\n    label = "%s: %s" % (a, b)\n    sep = ", "\n'
        "    note = 'a cart is empty'\n"  # three words of two letters or more
        f"    table = '{'word ' * 80}'\n"  # longer than a message
    )
    assert message_templates(code) == ()
    # The same literal twice is one template; order of first appearance.
    twice = 'log("could not reach the payment server")\nlog("could not reach the payment server")'
    assert _shown(message_templates(twice)) == ["could not reach the payment server"]


def test_a_template_matches_the_lines_it_prints_word_for_word_in_order():
    (tpl,) = message_templates('"%s contains %d more items, first extra item: %s"')
    assert anchor(tpl) == "contains"
    # The reporter's version printed no count: a placeholder may stand for nothing.
    assert matches(tokens("E         Right contains more items, first extra item: 52"), tpl)
    assert matches(tokens("Left contains 3 more items, first extra item: 'x'"), tpl)
    assert not matches(tokens("Right contains more elements, first extra item: 52"), tpl)
    assert not matches(tokens("first extra item: 52, Right contains more items"), tpl)
    assert not matches(tokens("right Contains more items, first extra item: 1"), tpl)  # case
    (tpl,) = message_templates('"write() argument must be str, not {}"')
    assert matches(tokens("E   TypeError: write() argument must be str, not bytes"), tpl)
    assert not matches(tokens("write() argument must be a str, not bytes"), tpl)
    assert anchor(HOLE.join(["", " ", ""])) == ""
