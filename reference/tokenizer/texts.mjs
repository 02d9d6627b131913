// The varied text set the tiktoken agreement fixtures are made from: prose, source code, many scripts,
// emoji, long whitespace and digit runs, contractions, line-ending mixes, and special-token text.
// Byte samples (invalid UTF-8) are listed separately as arrays of bytes.

const longSpaces = ' '.repeat(300);
const longDigits = '1234567890'.repeat(40);

export const texts = [
  ['empty', ''],
  ['prose', 'The quick brown fox jumps over the lazy dog. It was the best of times, it was the worst of times; ' +
    'it was the age of wisdom, it was the age of foolishness.\n\nA second paragraph, with "quotes", (parentheses), ' +
    'and an em dash — like this — plus an ellipsis…'],
  ['contractions', "I'm sure you'll see they've gone; she'd say it's HIS fault. WE'LL SEE, DON'T WE? it'S ok. " +
    "'twas O'Neill's rock'n'roll"],
  ['code_csharp', 'public static int Sum(ReadOnlySpan<int> xs)\n{\n    int s = 0;\n    foreach (var x in xs) s += x;\n' +
    '    return s; // total\n}\n\t\tif (a != b && c >= 0x1F) { Console.WriteLine($"{a}:{b}"); }\r\n'],
  ['code_python', 'def f(x: int) -> list[int]:\n    """Docstring."""\n    return [i ** 2 for i in range(x) if i % 3 == 0]\n\n' +
    'class A(object):\n\tpass\n\n\n\nif __name__ == "__main__":\n    print(f(10))   # done\n'],
  ['json_html', '{"id": 42, "text": "héllo", "tags": ["a", "b"], "n": -3.25e+10}\n<div class="x">&amp; <b>bold</b></div>'],
  ['whitespace', 'a' + longSpaces + 'b\n\n\n   \t \r\n\r\n  x  \u00a0 y\u3000z\v\f end   '],
  ['only_spaces', longSpaces],
  ['only_newlines', '\n\n\n\n\n\r\n\r\n\n'],
  ['digits', longDigits + ' 3.14159 1,000,000 2024-05-13 0x7fff 1e-9 ١٢٣٤ ४५६ 零一二'],
  ['chinese', '我能吞下玻璃而不伤身体。机器学习是人工智能的一个分支，它使计算机能够从数据中学习。'],
  ['japanese', '私はガラスを食べられます。それは私を傷つけません。東京特許許可局、カタカナとひらがな。'],
  ['korean', '나는 유리를 먹을 수 있어요. 그래도 아프지 않아요. 한국어 텍스트입니다.'],
  ['arabic', 'أنا قادر على أكل الزجاج و هذا لا يؤلمني. اللغة العربية جميلة.'],
  ['hebrew', 'אני יכול לאכול זכוכית וזה לא מזיק לי. שָׁלוֹם עֲלֵיכֶם'],
  ['russian', 'Я могу есть стекло, оно мне не вредит. Съешь же ещё этих мягких французских булок, да выпей чаю.'],
  ['greek', 'Μπορώ να φάω σπασμένα γυαλιά χωρίς να πάθω τίποτα. ΑΒΓΔ αβγδ'],
  ['hindi', 'मैं काँच खा सकता हूँ और मुझे उससे कोई चोट नहीं पहुंचती. हिन्दी में लिखा गया पाठ।'],
  ['thai', 'ฉันกินกระจกได้ แต่มันไม่ทำให้ฉันเจ็บ ภาษาไทย'],
  ['mixed_scripts', 'Ünïcödé façade naïve café Straße ǅungla ĳssel Ǆ ﬁ ﬂ ℌ ℕ Ⅻ ① ² ½ µ Ω Å'],
  ['combining', 'e\u0301 a\u0308 n\u0303 \u0915\u094d\u0937 Z\u0351\u036b\u0343\u036a\u0302\u036b\u033d\u034f\u0334\u0319'],
  ['emoji', 'I love 🍕 and 🎉! 👍🏽 👨‍👩‍👧‍👦 🏳️‍🌈 ❤️ 🇫🇷🇯🇵 😀😃😄😁 ✨⭐ 🫠'],
  ['astral_digits', '𝟏𝟐𝟑𝟒𝟓 12𝟑4 𝟠𝟏3 🄁🄂 𑁦𑁧𑁨𑁩 x²³ 𐄇𐄈 𝟘𝟙𝟚𝟛𝟜𝟝𝟞'],
  ['astral_letters', '𝐇𝐞𝐥𝐥𝐨 𝔚𝔬𝔯𝔩𝔡 𐐷𐐷 𠜎𠜱𠝹 𓀀𓀁 𝒜𝒷𝒸'],
  ['symbols_punct', '!!! ??? ... --- === *** ### $$$ %%% ^^^ &&& ((( ))) [[[ ]]] {{{ }}} <<< >>> ||| \\\\ /// ~~~ ``` @@@'],
  ['path_url', 'https://example.com/a/b?c=d&e=f#g C:\\Users\\me\\file.txt /usr/local/bin/ ./x/y/z.tar.gz'],
  ['case_mix', 'camelCaseWord PascalCase snake_case SCREAMING_CASE kebab-case HTTPServer XMLHttpRequest iPhone'],
  ['crlf_mix', 'line1\r\nline2\rline3\n\r\nline4   \r\n\t\r\n'],
  ['long_word', 'Pneumonoultramicroscopicsilicovolcanoconiosis ' + 'abcdefghij'.repeat(30)],
  ['base64_blob', 'data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=='],
  ['special_text', 'Before <|endoftext|> after <|fim_prefix|> and <|endofprompt|>.'],
  ['control_chars', 'a\u0000b\u0001c\u007fd\u0085e\u200bf\u200dg\ufeffh\u2028i\u2029j'],
  ['replacement_char', 'a\ufffdb\ufffd\ufffd c'],
];

export const byteSamples = [
  ['invalid_lone_continuation', [0x61, 0x62, 0x80, 0x63]],
  ['invalid_ff_fe', [0xff, 0xfe, 0x48, 0x69, 0x20, 0x74, 0x68, 0x65, 0x72, 0x65]],
  ['invalid_truncated_seq', [0x68, 0xc3, 0x20, 0x77, 0xe2, 0x82, 0x20, 0x78, 0xf0, 0x9f, 0x98]],
  ['invalid_overlong', [0xc0, 0xaf, 0x2f, 0xe0, 0x80, 0xaf, 0x41]],
  ['invalid_surrogate_utf8', [0xed, 0xa0, 0x80, 0x20, 0x61, 0x62, 0x63]],
  ['invalid_run', [0x20, 0x80, 0x81, 0x82, 0x83, 0xfe, 0xff, 0xc0, 0xc1, 0xf5, 0x20, 0x6f, 0x6b]],
  ['invalid_latin1_text', Array.from(Buffer.from('caf\u00e9 na\u00efve r\u00e9sum\u00e9 \u00fcber', 'latin1'))],
];
