//! `convert-ct2-to-ggml IN_DIR OUT_FILE`: converts the CTranslate2 Whisper model in `IN_DIR`
//! (`model.bin`, `vocabulary.txt`) into a whisper.cpp ggml file. Used by `scripts/setup-models.sh`.

use std::path::PathBuf;

use anyhow::{Context, bail};

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [input, output] = args.as_slice() else {
        bail!("usage: convert-ct2-to-ggml IN_DIR OUT_FILE");
    };
    let (input, output) = (PathBuf::from(input), PathBuf::from(output));
    let tensors = transcription::model::convert::convert_ct2_to_ggml(&input, &output)
        .with_context(|| format!("converting {}", input.display()))?;
    println!("wrote {} ({tensors} tensors)", output.display());
    Ok(())
}
