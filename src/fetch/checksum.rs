//! sha256 of files and bytes, as lowercase hex: what verifies a fetched model and identifies
//! weights in every store key.

use std::fs::File;
use std::io::{self, BufReader, Read, Write};
use std::path::Path;

use anyhow::{Context, Result};
use sha2::{Digest, Sha256};

pub fn sha256_file(path: &Path) -> Result<String> {
    let mut reader = BufReader::new(
        File::open(path).with_context(|| format!("cannot open {}", path.display()))?,
    );
    let mut hasher = Sha256::new();
    copy_hashing(&mut reader, &mut io::sink(), &mut hasher)
        .with_context(|| format!("reading {}", path.display()))?;
    Ok(hex(&hasher.finalize()))
}

pub fn sha256_bytes(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Copies `src` to `dst`, feeding every byte to `hasher` on the way.
pub fn copy_hashing(
    src: &mut impl Read,
    dst: &mut impl Write,
    hasher: &mut Sha256,
) -> io::Result<()> {
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = src.read(&mut buf)?;
        if n == 0 {
            return Ok(());
        }
        hasher.update(&buf[..n]);
        dst.write_all(&buf[..n])?;
    }
}
