"""Names inside what customers wrote are masked by ``redact_text``, like phones and addresses.

Each way a name is found (a label, a form of address, jieba's tagger, a name the caller knows) in
Simplified and Traditional Chinese and in English; words that look like names and are not (brands,
小时, 老板, a surname inside another word) stay; and for any text at all, masking never fails, masking
twice changes nothing, and evidence spans stay inside the masked text.
"""

from __future__ import annotations

import subprocess
import sys

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cxloop.auth.redaction import redact_text, redact_text_and_names
from cxloop.feedback.service import mask_spans


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # a label, then the name
        ("我是张伟，订单一直没到", "我是张*，订单一直没到"),
        ("我叫王芳，麻烦尽快发货", "我叫王*，麻烦尽快发货"),
        ("收件人李娜电话打不通", "收件人李*电话打不通"),
        ("收货人：刘洋 13812345678", "收货人：刘* 138****5678"),
        ("收件人刘洋家里没人", "收件人刘*家里没人"),
        ("联系人王小明，麻烦改地址", "联系人王**，麻烦改地址"),
        ("姓名：赵敏", "姓名：赵*"),
        ("名字叫周杰，别写错了", "名字叫周*，别写错了"),
        ("本人刘洋，已确认收货", "本人刘*，已确认收货"),
        ("签收人是孙丽", "签收人是孙*"),
        ("我是欧阳娜娜", "我是欧***"),
        ("收货人：梁海燕，物流太慢了", "收货人：梁**，物流太慢了"),
        ("我叫何浩然，顺丰比中通快", "我叫何**，顺丰比中通快"),
        ("本人高军，已签收", "本人高*，已签收"),
        # Traditional
        ("我是張偉，訂單一直沒到", "我是張*，訂單一直沒到"),
        ("收貨人：陳小明", "收貨人：陳**"),
        ("聯繫人黃麗，電話打不通", "聯繫人黃*，電話打不通"),
        # a surname and a form of address
        ("请联系陈先生", "请联系陈**"),
        ("李女士说包装破了", "李**说包装破了"),
        ("王小姐不在家", "王**不在家"),
        ("刘师傅送货很准时", "刘**送货很准时"),
        ("陈老师推荐的", "陈**推荐的"),
        ("售后刘经理处理的", "售后刘**处理的"),
        ("王总亲自回的电话", "王*亲自回的电话"),
        ("請聯繫陳先生", "請聯繫陳**"),
        ("劉師傅送貨很準時", "劉**送貨很準時"),
        # 小 / 老 + surname
        ("客服小刘态度很好", "客服小*态度很好"),
        ("老王说没问题", "老*说没问题"),
        ("客服小王很耐心", "客服小*很耐心"),
        # the tagger, without a label
        ("王小明说快递坏了", "王**说快递坏了"),
        ("快递员张建国送货很快", "快递员张**送货很快"),
        ("快递员宋海燕态度很差", "快递员宋**态度很差"),
        ("欧阳娜娜买的", "欧***买的"),
        # English
        ("My name is John Smith and the parcel is late", "My name is J*** S**** and the parcel is late"),
        ("my name is Anna", "my name is A***"),
        ("Mr. Smith called twice", "Mr. S**** called twice"),
        ("Please ask Mrs Brown", "Please ask Mrs B****"),
        ("Name: Jane Doe", "Name: J*** D**"),
        ("Ms. O'Brien was not home", "Ms. O'B**** was not home"),
    ],
)
def test_names_are_masked(text: str, expected: str) -> None:
    """Each pattern masks the name and keeps its first letter and its length."""
    assert redact_text(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "华为手机很好用，小米也不错",
        "京东物流太慢了",
        "顺丰比中通快，圆通最慢",
        "天猫和淘宝都买过，拼多多便宜",
        "物流太慢了",
        "老板人很好",
        "等了三个小时才到",
        "先生您好，请问什么时候发货",
        "李宁的鞋子质量好",
        "关于老师的态度",
        "这周总是下雨",
        "班主任推荐的",
        "宿管阿姨人很好",
        "司机师傅很好",
        "小程序不好用",
        "我是老顾客了",
        "我是江苏人",
        "我是高中生",
        "收件人信息填错了",
        "签收人不是我",
        "本人亲自签收",
        "谢谢，宝贝收到了",
        "黄焖鸡米饭很好吃",
        "汤略咸，马家的面不错",
        "我老公很喜欢",
        "屏幕很清晰，电池耐用",
        "提高顾客满意度",
        "这个南瓜饼很好吃",
        "華為手機很好用",
        "Call me back please",
        "I love the Apple watch",
        "Mr. and Mrs. both liked it",
    ],
)
def test_words_that_are_not_names_stay(text: str) -> None:
    """Brands, carriers, everyday words and a surname inside another word are not names."""
    assert redact_text(text) == text


def test_known_names_are_masked_wherever_they_appear() -> None:
    """The caller's names (author, customer) go even where no pattern would find them."""
    assert redact_text("阿花买的，阿花很满意", names=["阿花", None]) == "阿*买的，阿*很满意"
    assert redact_text("Thanks, sarah here", names=["Sarah"]) == "Thanks, s**** here"
    assert redact_text("Sarahs bag", names=["Sarah"]) == "Sarahs bag"  # whole words only
    # too short to mean one person, or already masked
    assert redact_text("王的东西", names=["王", "张*"]) == "王的东西"


def test_keep_and_detect_names() -> None:
    """``keep`` words are never names (staff greeted in a message); detection can be switched off."""
    assert redact_text("王芳，您好：工单已分配", keep=["王芳"]) == "王芳，您好：工单已分配"
    assert redact_text("王芳，您好：工单已分配") == "王*，您好：工单已分配"
    assert redact_text("我是张伟 13812345678", detect_names=False) == "我是张伟 138****5678"
    assert redact_text("我是张伟", names=["张伟"], detect_names=False) == "我是张*"


def test_names_found_are_reported_and_masked_everywhere() -> None:
    """A name found once is masked at every place it appears, and reported as written."""
    text, names = redact_text_and_names("我是张伟，张伟的订单还没到")
    assert text == "我是张*，张*的订单还没到" and names == {"张伟"}
    assert redact_text_and_names("物流太慢了") == ("物流太慢了", frozenset())


def test_mask_spans_keeps_evidence_on_its_words_around_a_name() -> None:
    """Evidence spans before, after and around a name still cover the same words once it is masked."""
    text = "我是张伟，快递员王小明态度很差，包装也破了"
    spans = [(text.index("快递员"), text.index("，包装")), (text.index("包装"), len(text))]
    masked, moved = mask_spans(text, spans)
    assert "张伟" not in masked and "王小明" not in masked
    assert [masked[a:b] for a, b in moved] == ["快递员王**态度很差", "包装也破了"]
    # the author's name, known to the caller
    masked, [(a, b)] = mask_spans("阿花说物流太慢", [(3, 7)], names=["阿花"])
    assert masked == "阿*说物流太慢" and masked[a:b] == "物流太慢"


def test_english_text_does_not_load_jieba() -> None:
    """Text without Chinese characters never imports jieba (CLI start-up, English shops)."""
    code = (
        "import sys\n"
        "from cxloop.auth.redaction import redact_text\n"
        "assert redact_text('My name is John Smith, call 13812345678') == 'My name is J*** S****, call 138****5678'\n"
        "assert 'jieba' not in sys.modules, 'jieba imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_one_dictionary_per_process() -> None:
    """The tagger runs on the segmenter's jieba dictionary, loaded once and kept."""
    from cxloop.auth import redaction
    from cxloop.text.segment import _get_tokenizer

    redact_text("我是张伟")
    tagger = redaction._pos_tagger()
    assert tagger is redaction._pos_tagger() and tagger.tokenizer is _get_tokenizer()


# --- any text ----------------------------------------------------------------------------------------

#: Pieces that make names, labels, brands, contacts and noise next to each other.
_PIECES = st.sampled_from(
    [
        "我是", "我叫", "收件人", "收貨人", "联系人", "：", ":", "，", " ", "张", "王", "李", "欧阳", "伟", "小明",
        "芳", "先生", "女士", "师傅", "小", "老", "华为", "小米", "京东", "物流", "太慢了", "快递", "时", "的",
        "My name is ", "Mr. ", "John", "Smith", "smith", "13812345678", "021-62345678", "li@x.com", "wx: abcde1",
        "中山路88号", "*", "[地址]", "\n", "張偉", "聯繫人",
    ]
)  # fmt: skip
_TEXTS = st.one_of(
    st.lists(_PIECES, max_size=12).map("".join),
    st.text(max_size=40),
    st.text(alphabet=st.characters(min_codepoint=0x4E00, max_codepoint=0x4FFF), max_size=20),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_TEXTS)
def test_redact_text_never_fails_and_is_idempotent(text: str) -> None:
    """Masking a masked text again changes nothing; no text makes it fail."""
    once = redact_text(text)
    assert redact_text(once) == once


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_TEXTS, st.lists(st.tuples(st.integers(-3, 60), st.integers(-3, 60)), max_size=4))
def test_mask_spans_stay_inside_the_text(text: str, raw: list[tuple[int, int]]) -> None:
    """Spans are moved onto the masked text and never point outside it."""
    spans = [(min(a, b), max(a, b)) for a, b in raw]
    masked, moved = mask_spans(text, spans)
    assert masked == (redact_text(text) or "")
    assert len(moved) == len(spans)
    assert all(0 <= a <= b <= len(masked) for a, b in moved)
