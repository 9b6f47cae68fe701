//! CoNLL-U in and out: `zoo predict --format conllu` fills the tag column of a treebank file (or
//! of raw text) and writes CoNLL-U that the zoo's own reader reads back, and `zoo eval
//! --data-dir` scores a treebank folder with the per-tag table. On the shipped EWT tagger, so
//! nothing is trained here.

use std::io::Read;
use std::path::Path;

use zoo_data::pos::{parse_conllu, tokenize, TagColumn};
use zoo_tests::{workspace, zoo};

/// The first `sentences` sentences of EWT's test file, as lines.
fn ewt_test_head(sentences: usize) -> String {
    let path = workspace().join("data/ud-english-ewt/en_ewt-ud-test.conllu.gz");
    let mut text = String::new();
    flate2::read::GzDecoder::new(std::fs::File::open(path).unwrap())
        .read_to_string(&mut text)
        .unwrap();
    let blocks: Vec<&str> = text.split("\n\n").take(sentences).collect();
    blocks.join("\n\n") + "\n\n"
}

/// The line with its UPOS column (4) emptied, where it is a word line.
fn without_upos(line: &str) -> String {
    let mut columns: Vec<&str> = line.split('\t').collect();
    if columns.len() == 10 && columns[0].parse::<usize>().is_ok() {
        columns[3] = "_";
    }
    columns.join("\t")
}

/// Checks the shape of CoNLL-U text: comments, word lines of 10 columns, and one blank line
/// after each sentence (none elsewhere); returns the sentences' count.
fn check_conllu_shape(text: &str) -> usize {
    assert!(
        text.ends_with("\n\n"),
        "a blank line ends the last sentence"
    );
    let blocks: Vec<&str> = text.trim_end_matches('\n').split("\n\n").collect();
    for block in &blocks {
        assert!(!block.is_empty(), "two blank lines in a row");
        for line in block.lines() {
            if !line.starts_with('#') {
                assert_eq!(line.split('\t').count(), 10, "{line:?}");
            }
        }
    }
    blocks.len()
}

#[test]
fn a_treebank_file_comes_back_with_its_upos_column_filled_and_nothing_else_changed() {
    let tmp = tempfile::tempdir().unwrap();
    let original = ewt_test_head(40);
    let blank: String = original.lines().map(|l| without_upos(l) + "\n").collect();
    let input = tmp.path().join("in.conllu");
    std::fs::write(&input, &blank).unwrap();
    let out = zoo(
        tmp.path(),
        &[
            "predict",
            "--pretrained",
            "pos-tagger",
            "--format",
            "conllu",
            "--file",
            input.to_str().unwrap(),
        ],
    );
    out.assert_ok();
    assert_eq!(check_conllu_shape(&out.stdout), 40);
    // Every line as it was but the UPOS column: comments, multiword ranges, the other columns.
    let got: Vec<&str> = out.stdout.lines().collect();
    let given: Vec<&str> = blank.lines().collect();
    assert_eq!(got.len(), given.len());
    for (got, given) in got.iter().zip(&given) {
        assert_eq!(without_upos(got), *given);
    }
    // Read back by the zoo's own reader: the input's words, each with a tag.
    let path = Path::new("predicted.conllu");
    let tagged = parse_conllu(out.stdout.as_bytes(), path, TagColumn::Upos).unwrap();
    let gold = parse_conllu(original.as_bytes(), path, TagColumn::Upos).unwrap();
    assert_eq!(tagged.len(), 40);
    let (mut right, mut total) = (0, 0);
    for (t, g) in tagged.iter().zip(&gold) {
        assert_eq!(t.words, g.words);
        right += t.tags.iter().zip(&g.tags).filter(|(a, b)| a == b).count();
        total += g.tags.len();
    }
    // The shipped tagger's weights are fixed: 593 of these 623 tokens right (0.925 on the whole
    // test set); two either way for another CPU's rounding of a near tie.
    assert_eq!(total, 623);
    assert!(right.abs_diff(593) <= 2, "{right}/{total}");
}

#[test]
fn raw_text_becomes_conllu_one_sentence_a_line() {
    let tmp = tempfile::tempdir().unwrap();
    let lines = ["I'd like to book a flight to Boston.", "", "Thanks!"];
    let mut args = vec![
        "predict",
        "--pretrained",
        "pos-tagger",
        "--format",
        "conllu",
    ];
    args.extend(lines);
    let out = zoo(tmp.path(), &args);
    out.assert_ok();
    assert_eq!(
        check_conllu_shape(&out.stdout),
        2,
        "the empty line is no sentence"
    );
    assert!(out
        .stdout
        .starts_with("# sent_id = 1\n# text = I'd like to book a flight to Boston.\n"));
    assert!(out.stdout.contains("# sent_id = 3\n# text = Thanks!\n"));
    let tagged = parse_conllu(out.stdout.as_bytes(), Path::new("out"), TagColumn::Upos).unwrap();
    assert_eq!(tagged[0].words, tokenize(lines[0]));
    assert_eq!(tagged[1].words, ["Thanks", "!"]);
    assert_eq!(tagged[0].tags[0], "PRON"); // I
    assert_eq!(tagged[1].tags[1], "PUNCT");

    // A model that tags no words has no CoNLL-U to write.
    let digit = zoo(
        tmp.path(),
        &[
            "predict",
            "--pretrained",
            "mnist-cnn",
            "--format",
            "conllu",
            "x.png",
        ],
    );
    let line = digit.error_line();
    assert!(
        line.contains(
            "--format conllu writes a tagger's tags as CoNLL-U; `mnist-cnn` tags no words"
        ),
        "{line}"
    );
}

#[test]
fn eval_scores_a_treebank_folder_with_the_per_tag_table() {
    let tmp = tempfile::tempdir().unwrap();
    // The same treebank under another folder name: the shipped figure, tag by tag.
    let folder = tmp.path().join("my-ewt");
    std::fs::create_dir(&folder).unwrap();
    let ewt = workspace().join("data/ud-english-ewt");
    for split in ["train", "dev", "test"] {
        let name = format!("en_ewt-ud-{split}.conllu.gz");
        std::fs::copy(ewt.join(&name), folder.join(&name)).unwrap();
    }
    let out = zoo(
        tmp.path(),
        &[
            "eval",
            "--pretrained",
            "pos-tagger",
            "--data-dir",
            folder.to_str().unwrap(),
        ],
    );
    out.assert_ok();
    assert!(
        out.stdout.contains("Accuracy: 23209/25094"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("reproduced exactly"), "{}", out.stdout);
    let table: Vec<&str> = (out.stdout.lines())
        .skip_while(|l| !l.starts_with("Per tag: "))
        .skip(1)
        .take_while(|l| l.starts_with(' '))
        .collect();
    assert_eq!(table.len(), 17, "the 17 UPOS tags:\n{}", out.stdout);
    let propn = table
        .iter()
        .find(|l| l.split_whitespace().next() == Some("PROPN"))
        .unwrap();
    let count: usize = propn.split_whitespace().nth(2).unwrap().parse().unwrap();
    assert_eq!(count, 2075, "{propn}"); // PROPN tokens of en_ewt-ud-test
}
