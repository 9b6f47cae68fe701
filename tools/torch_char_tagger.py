"""The PyTorch twin of the zoo's `pos-tagger-char`, written as a PyTorch user writes it: each
batch's distinct words spelled once through a character BiLSTM (packed, its two final states),
beside the word embedding (rare training words read as <unk> now and then), a bidirectional
word LSTM over the packed sentences, a tag layer, log-softmax, and a linear-chain CRF trained by
the batched forward algorithm and decoded by batched Viterbi. Used by tools/torch_reference.py
(training) and tools/torch_predict.py (scoring the test set).
"""

import sys

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

# The characters of a longer word the zoo reads: its first and last half of these.
MAX_WORD_CHARS = 24
# Word id of <unk> (0 is padding).
UNK = 1


def word_chars(word):
    """The characters of `word` the tagger reads, as the zoo's `word_chars`."""
    if len(word) <= MAX_WORD_CHARS:
        return word
    half = MAX_WORD_CHARS // 2
    return word[:half] + word[-half:]


def char_rows(forms, chars, longest):
    """The characters of a batch's sentences (`forms`: each sentence's words as written, padded to
    `longest` words): each distinct word's character ids once `[rows, width]` (0-padded), their
    lengths, and the row each of the `len(forms) * longest` word positions reads (padded
    positions read row 0: the packed word LSTM never looks at them)."""
    row_of, written, rows = {}, [], [0] * (len(forms) * longest)
    for b, words in enumerate(forms):
        for t, word in enumerate(words):
            spelled = word_chars(word)
            if spelled not in row_of:
                row_of[spelled] = len(written)
                written.append(spelled)
            rows[b * longest + t] = row_of[spelled]
    width = max(len(w) for w in written)
    ids = torch.zeros(len(written), width, dtype=torch.long)
    for row, spelled in enumerate(written):
        ids[row, : len(spelled)] = torch.tensor([chars.get(c, UNK) for c in spelled])
    return ids, torch.tensor([len(w) for w in written]), torch.tensor(rows)


def char_vocabulary(sentences, vocabulary):
    """The character vocabulary of the training words as the tagger reads them (case kept)."""
    return vocabulary((c for words, _ in sentences for w in words for c in word_chars(w)), 1)


def drop_rates(m, sentences, words, lowercase):
    """Each word id's chance of being read as <unk> in training: `word_dropout`, or for a word
    seen c <= 3 times `rare_alpha / (rare_alpha + c)` where higher (Plank et al., 2016)."""
    counts = torch.zeros(len(words) + 2)
    for forms, _ in sentences:
        for w in forms:
            counts[words.get(w.lower() if lowercase else w, UNK)] += 1
    rates = torch.full_like(counts, m["word_dropout"])
    alpha = m["rare_alpha"]
    if alpha > 0:
        rare = (counts >= 1) & (counts <= 3)
        rates = torch.where(rare, torch.maximum(rates, alpha / (alpha + counts)), rates)
    rates[0] = 0.0
    return rates


class Crf(nn.Module):
    """A linear-chain CRF over word scores `[B, T, K]`: transition, start and end scores."""

    def __init__(self, tags):
        super().__init__()
        self.transitions = nn.Parameter(torch.zeros(tags, tags))
        self.start = nn.Parameter(torch.zeros(tags))
        self.end = nn.Parameter(torch.zeros(tags))

    def nll(self, scores, tags, mask):
        """-log p(tags) summed over the sentences (`tags` `[B, T]`, `mask` true on real words)."""
        alpha = self.start + scores[:, 0]
        for t in range(1, scores.shape[1]):
            step = torch.logsumexp(alpha.unsqueeze(2) + self.transitions, dim=1) + scores[:, t]
            alpha = torch.where(mask[:, t : t + 1], step, alpha)
        log_z = torch.logsumexp(alpha + self.end, dim=1)
        emitted = scores.gather(2, tags.unsqueeze(2)).squeeze(2)
        moved = self.transitions[tags[:, :-1], tags[:, 1:]]
        last = tags.gather(1, (mask.sum(1) - 1).unsqueeze(1)).squeeze(1)
        gold = (self.start[tags[:, 0]] + (emitted * mask).sum(1) + (moved * mask[:, 1:]).sum(1)
                + self.end[last])
        return (log_z - gold).sum()

    def decode(self, scores, mask):
        """Each sentence's best tags (Viterbi), `[B, T]`; past a sentence's end, its last tag."""
        best, backs = self.start + scores[:, 0], []
        for t in range(1, scores.shape[1]):
            top, back = (best.unsqueeze(2) + self.transitions).max(dim=1)
            best = torch.where(mask[:, t : t + 1], top + scores[:, t], best)
            backs.append(back)
        tag = (best + self.end).argmax(1)
        path = [tag]
        for t in range(scores.shape[1] - 1, 0, -1):
            tag = torch.where(mask[:, t], backs[t - 1].gather(1, tag.unsqueeze(1)).squeeze(1), tag)
            path.append(tag)
        return torch.stack(path[::-1], dim=1)


class CharTagger(nn.Module):
    """The zoo's `pos-tagger-char`: [word embedding, character BiLSTM] -> dropout -> BiLSTM ->
    dropout -> Linear -> log-softmax -> CRF. A batch is (word ids [B, T], lengths, gold tags
    [B, T] with -100 on padding, character ids [R, W], character lengths, rows [B * T])."""

    def __init__(self, m, words, chars, tags, rates):
        super().__init__()
        if m.get("char_cnn"):
            sys.exit("error: the PyTorch twin of pos-tagger-char reads characters with the BiLSTM only")
        self.embedding = nn.Embedding(words, m["word_dim"])
        self.char_embedding = nn.Embedding(chars, m["char_dim"])
        self.char_lstm = nn.LSTM(m["char_dim"], m["char_hidden"], batch_first=True, bidirectional=True)
        self.lstm = nn.LSTM(m["word_dim"] + 2 * m["char_hidden"], m["hidden_size"], m["num_layers"],
                            batch_first=True, bidirectional=True,
                            dropout=m["dropout"] if m["num_layers"] > 1 else 0.0)
        self.hidden2tag = nn.Linear(2 * m["hidden_size"], tags)
        self.crf = Crf(tags) if m["crf"] else None
        self.dropout = nn.Dropout(m["dropout"])
        self.register_buffer("rates", rates, persistent=False)

    def forward(self, words, lengths, chars, char_lengths, rows):
        embedded = self.char_embedding(chars)
        packed = pack_padded_sequence(embedded, char_lengths, batch_first=True, enforce_sorted=False)
        _, (final, _) = self.char_lstm(packed)  # [2, R, H], in the rows' order
        spelled = final.transpose(0, 1).reshape(final.shape[1], -1)[rows]
        spelled = spelled.view(words.shape[0], words.shape[1], -1)
        if self.training:
            words = words.masked_fill(torch.rand(words.shape, device=words.device) < self.rates[words], UNK)
        x = self.dropout(torch.cat([self.embedding(words), spelled], dim=2))
        packed = pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
        out, _ = self.lstm(packed)
        out, _ = pad_packed_sequence(out, batch_first=True, total_length=words.shape[1])
        return F.log_softmax(self.hidden2tag(self.dropout(out)), dim=-1)

    def scores(self, batch, device):
        words, lengths, _, chars, char_lengths, rows = batch
        return self(words.to(device), lengths, chars.to(device), char_lengths, rows.to(device))

    def loss(self, batch, device):
        """The mean loss per real word: the CRF's sentence NLL summed, over the words."""
        gold = batch[2].to(device)
        scores, mask = self.scores(batch, device), gold != -100
        if self.crf is None:
            return F.nll_loss(scores.flatten(0, 1), gold.flatten(), ignore_index=-100)
        return self.crf.nll(scores, gold.clamp(min=0), mask) / mask.sum()

    def predict(self, batch, device):
        """The chosen tags `[B, T]`: Viterbi's through the CRF, else each word's best."""
        scores = self.scores(batch, device)
        if self.crf is None:
            return scores.argmax(-1)
        return self.crf.decode(scores, batch[2].to(device) != -100)
