use std::io::Write;

use burn::backend::NdArray;

use super::*;

const GOOD: &str = "# sent_id = 1\n# text = I don't know.\n\
1\tI\tI\tPRON\tPRP\t_\t3\tnsubj\t_\t_\n\
2-3\tdon't\t_\t_\t_\t_\t_\t_\t_\t_\n\
2\tdo\tdo\tAUX\tVBP\t_\t3\taux\t_\t_\n\
3\tn't\tnot\tPART\tRB\t_\t4\tadvmod\t_\t_\n\
3.1\tgone\t_\t_\t_\t_\t_\t_\t_\t_\n\
4\tknow\tknow\tVERB\tVB\t_\t0\troot\t_\t_\n\
5\t.\t.\tPUNCT\t.\t_\t4\tpunct\t_\t_\n\
\n\
# sent_id = 2\n\
1\tYes\tyes\tINTJ\tUH\t_\t0\troot\t_\t_\n\
\n";

fn write(dir: &tempfile::TempDir, name: &str, text: &str) -> PathBuf {
    let path = dir.path().join(name);
    std::fs::write(&path, text).unwrap();
    path
}

fn error_of(text: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let path = write(&dir, "bad.conllu", text);
    let message = read_conllu(&path, TagColumn::Upos).unwrap_err().to_string();
    let prefix = format!("{}:", path.display());
    assert!(message.starts_with(&prefix), "{message}");
    message[prefix.len()..].to_string()
}

#[test]
fn reads_words_and_tags_skipping_comments_ranges_and_empty_nodes() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(&dir, "good.conllu", GOOD);
    let sentences = read_conllu(&path, TagColumn::Upos).unwrap();
    assert_eq!(sentences.len(), 2);
    assert_eq!(sentences[0].words, ["I", "do", "n't", "know", "."]);
    assert_eq!(sentences[0].tags, ["PRON", "AUX", "PART", "VERB", "PUNCT"]);
    assert_eq!(sentences[1].words, ["Yes"]);
    let xpos = read_conllu(&path, TagColumn::Xpos).unwrap();
    assert_eq!(xpos[0].tags, ["PRP", "VBP", "RB", "VB", "."]);
}

#[test]
fn reads_gzip_whatever_the_name_and_windows_line_ends() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("plain-name.conllu");
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(GOOD.replace('\n', "\r\n").as_bytes()).unwrap();
    std::fs::write(&path, gz.finish().unwrap()).unwrap();
    let sentences = read_conllu(&path, TagColumn::Upos).unwrap();
    assert_eq!(sentences.len(), 2);
    assert_eq!(sentences[0].words.last().unwrap(), ".");
}

#[test]
fn a_line_with_nine_columns_is_named() {
    let text = "1\tThe\tthe\tDET\tDT\t_\t2\tdet\t_\n";
    assert_eq!(
        error_of(text),
        "1: 9 tab-separated columns, CoNLL-U has 10 (ID FORM LEMMA UPOS XPOS FEATS HEAD DEPREL \
         DEPS MISC)"
    );
}

#[test]
fn a_non_numeric_id_is_named() {
    let text = "1\tThe\tthe\tDET\tDT\t_\t2\tdet\t_\t_\nx\tdog\tdog\tNOUN\tNN\t_\t0\troot\t_\t_\n";
    let message = error_of(text);
    assert!(message.starts_with("2: `x` is not a word id"), "{message}");
}

#[test]
fn a_sentence_with_no_words_is_named() {
    let text = "1\tHi\thi\tINTJ\tUH\t_\t0\troot\t_\t_\n\n# sent_id = 2\n# text = \n\n";
    let message = error_of(text);
    assert!(
        message.starts_with("5: the sentence ending here has no words"),
        "{message}"
    );
    // Also at the end of a file without the final blank line.
    let message = error_of("# sent_id = 3\n1-2\tdon't\t_\t_\t_\t_\t_\t_\t_\t_\n");
    assert!(
        message.starts_with("2: the last sentence has no words"),
        "{message}"
    );
}

#[test]
fn a_missing_blank_line_and_a_missing_tag_are_named() {
    let first = "1\tHi\thi\tINTJ\tUH\t_\t0\troot\t_\t_\n";
    let message = error_of(&format!("{first}{first}"));
    assert!(
        message.starts_with("2: word id 1 where 2 was expected"),
        "{message}"
    );
    let message = error_of(&format!("{first}# sent_id = 2\n"));
    assert!(
        message.starts_with("2: comment inside a sentence"),
        "{message}"
    );
    let message = error_of("1\tHi\thi\t_\tUH\t_\t0\troot\t_\t_\n");
    assert!(
        message.starts_with("1: no UPOS (column 4) tag for `Hi`"),
        "{message}"
    );
}

#[test]
fn empty_missing_truncated_and_binary_files_are_errors_not_panics() {
    let dir = tempfile::tempdir().unwrap();
    let empty = write(&dir, "empty.conllu", "\n\n");
    assert!(read_conllu(&empty, TagColumn::Upos)
        .unwrap_err()
        .to_string()
        .ends_with("no sentences in this file (is it CoNLL-U?)"));
    let missing = dir.path().join("missing.conllu");
    assert!(read_conllu(&missing, TagColumn::Upos)
        .unwrap_err()
        .to_string()
        .contains("missing.conllu: cannot open"));
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(GOOD.repeat(50).as_bytes()).unwrap();
    let bytes = gz.finish().unwrap();
    let truncated = dir.path().join("truncated.conllu.gz");
    std::fs::write(&truncated, &bytes[..bytes.len() / 2]).unwrap();
    let message = read_conllu(&truncated, TagColumn::Upos)
        .unwrap_err()
        .to_string();
    assert!(message.contains("cannot read this line"), "{message}");
    let binary = dir.path().join("binary.conllu");
    std::fs::write(&binary, [0xff, 0xfe, 0x00, 0x41, b'\n']).unwrap();
    let message = read_conllu(&binary, TagColumn::Upos)
        .unwrap_err()
        .to_string();
    assert!(
        message.contains("binary.conllu:1: cannot read this line"),
        "{message}"
    );
}

#[test]
fn reads_the_real_english_ewt_test_split() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../data/ud-english-ewt/en_ewt-ud-test.conllu.gz");
    let sentences = read_conllu(&path, TagColumn::Upos).unwrap();
    assert_eq!(sentences.len(), 2077);
    assert_eq!(
        sentences.iter().map(|s| s.words.len()).sum::<usize>(),
        25094
    );
    let tags: HashSet<&str> = sentences
        .iter()
        .flat_map(|s| s.tags.iter().map(String::as_str))
        .collect();
    assert_eq!(tags.len(), 17, "{tags:?}");
}

#[test]
fn seen_words_follow_the_training_split_not_the_minimum_count() {
    let train = toy_sentences();
    let seen = SeenWords::new(&train, true);
    assert!(seen.contains("Apple"));
    assert!(!seen.contains("cat"));
    let words = Vocab::build(
        train
            .iter()
            .flat_map(|s| s.words.iter().map(String::as_str)),
        2,
        true,
    );
    let tags = Vocab::build(
        train.iter().flat_map(|s| s.tags.iter().map(String::as_str)),
        1,
        false,
    );
    let vocabularies = Vocabularies {
        words,
        tags: tags.clone(),
        chars: None,
        rare_from: [0; 3],
    };
    // `the` (id 2, seen twice) is the only word kept: none is seen once, and from id 2 on
    // every word is seen at most twice.
    assert_eq!(
        rare_from(&word_counts(&vocabularies.words, &train)),
        [3, 2, 2]
    );
    let encoded = EncodedSentence::new(&train[0], &vocabularies, &seen).unwrap();
    // Only `the` occurs twice; `dog` is <unk> for the model but was seen in training.
    assert_eq!(encoded.words, [2, 1, 1, 2, 1]);
    assert_eq!(encoded.unseen, [false; 5]);
    assert_eq!(
        encoded.tags,
        ["DET", "NN", "V", "DET", "NN"].map(|t| tags.id(t).unwrap())
    );
}

#[test]
fn batches_pad_to_the_longest_sentence_and_list_the_real_tokens() {
    let sentence = |words: &[usize]| EncodedSentence {
        words: words.to_vec(),
        tags: words.iter().map(|w| w + 10).collect(),
        chars: Vec::new(),
        unseen: words.iter().map(|&w| w == 1).collect(),
    };
    let bucket = SentenceBucket {
        sentences: vec![sentence(&[5, 6, 7]), sentence(&[8]), sentence(&[1, 9])],
    };
    let batch: TaggingBatch<NdArray> = TaggingBatcher.batch(vec![bucket], &Default::default());
    assert_eq!(batch.lengths, [3, 1, 2]);
    let ints = |t: Tensor<NdArray, 1, Int>| t.into_data().convert::<i64>().to_vec::<i64>().unwrap();
    assert_eq!(ints(batch.words.reshape([9])), [5, 6, 7, 8, 0, 0, 1, 9, 0]);
    assert_eq!(ints(batch.positions), [0, 1, 2, 3, 6, 7]);
    assert_eq!(ints(batch.tags), [15, 16, 17, 18, 11, 19]);
    assert_eq!(ints(batch.unseen), [0, 0, 0, 0, 1, 0]);
    assert!(
        batch.chars.is_none(),
        "no characters where the sentences carry none"
    );
}

#[test]
fn characters_are_kept_as_written_and_each_distinct_word_batched_once() {
    let train = toy_sentences();
    let of = |pick: fn(&TaggedSentence) -> &Vec<String>| {
        Vocab::build(
            train
                .iter()
                .flat_map(move |s| pick(s).iter().map(String::as_str)),
            1,
            true,
        )
    };
    let letters: Vec<String> = train
        .iter()
        .flat_map(|s| s.words.iter().flat_map(|w| word_chars(w)))
        .collect();
    let chars = Vocab::build(letters.iter().map(String::as_str), 1, false);
    let vocabularies = Vocabularies {
        words: of(|s| &s.words),
        tags: of(|s| &s.tags),
        chars: Some(chars.clone()),
        rare_from: [0; 3],
    };
    let seen = SeenWords::new(&train, true);
    // `Zebra` is no word of the vocabulary, but its letters are read as written: the capital Z
    // was never seen (<unk>), `e`, `b`, `r`, `a` were.
    let words: Vec<String> = ["The", "Zebra"].map(String::from).to_vec();
    let encoded = EncodedSentence::untagged(&words, &vocabularies, &seen).unwrap();
    assert_eq!(encoded.words[1], Vocab::UNK_ID);
    let id = |c: &str| chars.id(c).unwrap();
    assert_eq!(encoded.chars[0], [id("T"), id("h"), id("e")]);
    assert_eq!(
        encoded.chars[1],
        [Vocab::UNK_ID, id("e"), id("b"), id("r"), id("a")]
    );
    let short = EncodedSentence::untagged(&words[..1], &vocabularies, &seen).unwrap();
    // No words, nothing to tag: refused, so every batched sentence has a token a position.
    assert_eq!(
        EncodedSentence::untagged(&[], &vocabularies, &seen),
        Err(EncodeError::Empty)
    );

    let bucket = SentenceBucket {
        sentences: vec![short, encoded],
    };
    let batch: TaggingBatch<NdArray> = TaggingBatcher.batch(vec![bucket], &Default::default());
    let chars = batch.chars.unwrap();
    // Two sentences padded to 2 words: 4 word positions, 3 distinct rows (a padded position,
    // then the longest first: `Zebra`, `The`), each 5 characters wide; `The` written once for
    // both its positions.
    assert_eq!(chars.ids.dims(), [3, 5]);
    assert_eq!(
        chars.lengths,
        [1, 5, 3],
        "a padded word position counts one character"
    );
    assert_eq!(
        chars
            .rows
            .into_data()
            .convert::<i64>()
            .to_vec::<i64>()
            .unwrap(),
        [2, 0, 2, 1]
    );
    let row = |r: usize| {
        chars
            .ids
            .clone()
            .slice(s![r..r + 1, ..])
            .into_data()
            .convert::<i64>()
            .to_vec::<i64>()
            .unwrap()
    };
    let t = |c: &str| id(c) as i64;
    assert_eq!(row(0), [0; 5]);
    assert_eq!(
        row(1),
        [Vocab::UNK_ID as i64, t("e"), t("b"), t("r"), t("a")]
    );
    assert_eq!(row(2), [t("T"), t("h"), t("e"), 0, 0]);

    // A long token keeps its first and last halves.
    let url = "https://www.example.com/some/very/long/path";
    let kept = word_chars(url);
    assert_eq!(kept.len(), MAX_WORD_CHARS);
    assert_eq!(kept.concat(), "https://www.ry/long/path");
}

#[test]
fn buckets_keep_every_sentence_and_cut_padding() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../data/ud-english-ewt/en_ewt-ud-test.conllu.gz");
    let sentences = read_conllu(&path, TagColumn::Upos).unwrap();
    let words = Vocab::build(
        sentences
            .iter()
            .flat_map(|s| s.words.iter().map(String::as_str)),
        1,
        false,
    );
    let tags = Vocab::build(
        sentences
            .iter()
            .flat_map(|s| s.tags.iter().map(String::as_str)),
        1,
        false,
    );
    let seen = SeenWords::new(&sentences, false);
    let vocabularies = Vocabularies {
        words,
        tags,
        chars: None,
        rare_from: [0; 3],
    };
    let encoded: Vec<_> = sentences
        .iter()
        .map(|s| EncodedSentence::new(s, &vocabularies, &seen).unwrap())
        .collect();
    let bucketed = bucket_by_length(encoded.clone(), 32, 7);
    assert_eq!(bucketed.len(), 2077usize.div_ceil(32));
    let kept: usize = bucketed.iter().map(|b| b.sentences.len()).sum();
    assert_eq!(kept, 2077);
    // In file order, batches of 32 pad far more than length buckets.
    let in_order: Vec<_> = encoded
        .chunks(32)
        .map(|c| SentenceBucket {
            sentences: c.to_vec(),
        })
        .collect();
    let (bucket_pad, order_pad) = (padding_ratio(&bucketed), padding_ratio(&in_order));
    assert!(
        bucket_pad < 0.1 && order_pad > 1.0,
        "{bucket_pad} {order_pad}"
    );
    assert_eq!(
        bucket_by_length(encoded, 32, 7),
        bucketed,
        "same seed, same buckets"
    );
}

#[test]
fn tokenize_splits_edge_punctuation_only() {
    assert_eq!(
        tokenize("  The dog ate the apple  "),
        ["The", "dog", "ate", "the", "apple"]
    );
    assert_eq!(
        tokenize("\"Really?\" she said... (twice), e.g. U.S.A."),
        [
            "\"", "Really", "?", "\"", "she", "said", "...", "(", "twice", ")", ",", "e.g.",
            "U.S.A."
        ]
    );
    assert!(tokenize("   ").is_empty());
    assert_eq!(
        tokenize("I'd say John's dog can't, won't."),
        ["I", "'d", "say", "John", "'s", "dog", "ca", "n't", ",", "wo", "n't", "."]
    );
    assert_eq!(tokenize("It\u{2019}s"), ["It", "\u{2019}s"]);
}
