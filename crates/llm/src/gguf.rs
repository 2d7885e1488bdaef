//! A bounds-checked reader for GGUF files (the llama.cpp format).
//!
//! candle ships a reader too, but it trusts the lengths it reads: a corrupt string length makes it
//! allocate whatever the file says. This one checks every length against the file size, so a bad
//! download gives [`Error::Corrupt`] naming the file, never a panic or an abort.
//!
//! Layout (v2/v3): magic `GGUF`, version, tensor count, metadata count, metadata key/values, tensor
//! infos (name, dims innermost first, type, offset), padding to `general.alignment`, tensor data.
//!
//! [`write`] produces version 3 files one tensor at a time, so a model is never held whole in
//! memory; metadata keeps the exact value types of [`TypedValue`], since llama.cpp rejects a key of
//! the wrong width (a `u64` where it reads a `u32`).

use std::borrow::Cow;
use std::collections::HashMap;
use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use candle_core::Device;
pub use candle_core::quantized::gguf_file::Value as TypedValue;
use candle_core::quantized::gguf_file::ValueType;
use candle_core::quantized::{GgmlDType, QStorage, QTensor};

use crate::error::{Error, Result};

/// A metadata value. Integers of every width are widened; arrays keep their elements.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Value {
    /// Any unsigned integer type.
    Uint(u64),
    /// Any signed integer type.
    Int(i64),
    /// f32 or f64.
    Float(f64),
    /// A boolean.
    Bool(bool),
    /// A UTF-8 string (invalid UTF-8 is replaced, never rejected).
    String(String),
    /// An array of values.
    Array(Vec<Value>),
}

impl Value {
    /// The value as an unsigned integer, if it is a non-negative integer.
    pub fn as_u64(&self) -> Option<u64> {
        match *self {
            Value::Uint(v) => Some(v),
            Value::Int(v) => u64::try_from(v).ok(),
            _ => None,
        }
    }
    /// The value as a float, if it is numeric.
    pub fn as_f64(&self) -> Option<f64> {
        match *self {
            Value::Uint(v) => Some(v as f64),
            Value::Int(v) => Some(v as f64),
            Value::Float(v) => Some(v),
            _ => None,
        }
    }
    /// The value as a string slice.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }
    /// The value as an array.
    pub fn as_array(&self) -> Option<&[Value]> {
        match self {
            Value::Array(a) => Some(a),
            _ => None,
        }
    }
}

/// Where one tensor lies in the file.
#[derive(Debug, Clone)]
pub struct TensorInfo {
    /// Shape, outermost first (candle order; GGUF stores innermost first).
    pub shape: Vec<usize>,
    /// Storage type.
    pub dtype: GgmlDType,
    /// Absolute byte offset of the data.
    pub offset: u64,
    /// Data size in bytes.
    pub size: u64,
}

/// A parsed GGUF header: metadata and tensor directory. Tensor data is read on demand.
#[derive(Debug)]
pub struct Gguf {
    path: PathBuf,
    /// Metadata key/values.
    pub metadata: HashMap<String, Value>,
    /// Tensor directory by name.
    pub tensors: HashMap<String, TensorInfo>,
    file: File,
}

const MAGIC: &[u8; 4] = b"GGUF";

impl Gguf {
    /// Opens a file and reads its header, checking every length against the file size.
    pub fn open(path: &Path) -> Result<Self> {
        let io = |source| Error::Io {
            path: path.to_owned(),
            source,
        };
        let file = File::open(path).map_err(io)?;
        let file_len = file.metadata().map_err(io)?.len();
        let mut r = Reader {
            inner: BufReader::new(&file),
            path,
            file_len,
            pos: 0,
        };
        let mut magic = [0u8; 4];
        r.bytes_into(&mut magic)?;
        if &magic != MAGIC {
            return Err(r.corrupt("not a GGUF file (bad magic)".into()));
        }
        let version = r.u32()?;
        if !(2..=3).contains(&version) {
            return Err(r.corrupt(format!(
                "GGUF version {version} is not supported (2 or 3 are)"
            )));
        }
        let n_tensors = r.count("tensor count")?;
        let n_kv = r.count("metadata count")?;
        let mut metadata = HashMap::new();
        for _ in 0..n_kv {
            let key = r.string()?;
            let ty = r.u32()?;
            let value = r.value(ty, 0)?;
            metadata.insert(key, value);
        }
        let mut raw = Vec::new();
        for _ in 0..n_tensors {
            let name = r.string()?;
            let n_dims = r.u32()?;
            if n_dims == 0 || n_dims > 4 {
                return Err(r.corrupt(format!("tensor `{name}` has {n_dims} dimensions")));
            }
            let mut dims = Vec::with_capacity(n_dims as usize);
            for _ in 0..n_dims {
                dims.push(r.u64()?);
            }
            let ty = r.u32()?;
            let offset = r.u64()?;
            raw.push((name, dims, ty, offset));
        }
        let alignment = match metadata.get("general.alignment") {
            None => 32,
            Some(v) => v
                .as_u64()
                .filter(|a| *a > 0 && a.is_power_of_two())
                .ok_or_else(|| r.corrupt(format!("invalid general.alignment {v:?}")))?,
        };
        let data_start = r.pos.div_ceil(alignment) * alignment;
        let mut tensors = HashMap::new();
        for (name, dims, ty, offset) in raw {
            let dtype = dtype_from_u32(ty)
                .ok_or_else(|| r.corrupt(format!("tensor `{name}` has unknown type {ty}")))?;
            let elems = dims.iter().try_fold(1u64, |acc, d| acc.checked_mul(*d));
            let block = dtype.block_size() as u64;
            let size = elems
                .filter(|e| e % block == 0 && dims[0] % block == 0)
                .and_then(|e| (e / block).checked_mul(dtype.type_size() as u64));
            let Some(size) = size else {
                return Err(r.corrupt(format!(
                    "tensor `{name}` has invalid dims {dims:?} for {dtype:?}"
                )));
            };
            let start = data_start.checked_add(offset);
            if start
                .and_then(|s| s.checked_add(size))
                .is_none_or(|end| end > file_len)
            {
                return Err(r.corrupt(format!(
                    "tensor `{name}` lies past the end of the file ({file_len} bytes): the file is truncated"
                )));
            }
            let shape = dims.iter().rev().map(|d| *d as usize).collect();
            tensors.insert(
                name,
                TensorInfo {
                    shape,
                    dtype,
                    offset: data_start + offset,
                    size,
                },
            );
        }
        drop(r);
        Ok(Gguf {
            path: path.to_owned(),
            metadata,
            tensors,
            file,
        })
    }

    /// The file this was read from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// A metadata value, if present.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.metadata.get(key)
    }

    /// A required string value.
    pub fn string(&self, key: &str) -> Result<&str> {
        self.get(key)
            .and_then(Value::as_str)
            .ok_or_else(|| self.missing(key))
    }

    /// A required unsigned integer value.
    pub fn u64(&self, key: &str) -> Result<u64> {
        self.get(key)
            .and_then(Value::as_u64)
            .ok_or_else(|| self.missing(key))
    }

    /// An optional float value.
    pub fn f64_opt(&self, key: &str) -> Option<f64> {
        self.get(key).and_then(Value::as_f64)
    }

    fn missing(&self, key: &str) -> Error {
        Error::Config {
            path: self.path.clone(),
            problem: format!("metadata `{key}` is missing or has the wrong type"),
        }
    }

    /// The raw bytes of one tensor.
    pub fn tensor_bytes(&mut self, name: &str) -> Result<(TensorInfo, Vec<u8>)> {
        let info = self
            .tensors
            .get(name)
            .cloned()
            .ok_or_else(|| Error::Config {
                path: self.path.clone(),
                problem: format!("tensor `{name}` is missing"),
            })?;
        let io = |source| Error::Io {
            path: self.path.clone(),
            source,
        };
        self.file.seek(SeekFrom::Start(info.offset)).map_err(io)?;
        let mut buf = vec![0u8; info.size as usize];
        self.file.read_exact(&mut buf).map_err(io)?;
        Ok((info, buf))
    }

    /// The metadata with each value's stored type (for copying it into another file), sorted by
    /// key with `general.architecture` first.
    pub fn typed_metadata(&mut self) -> Result<Vec<(String, TypedValue)>> {
        let path = self.path.clone();
        self.file
            .seek(SeekFrom::Start(0))
            .map_err(|source| Error::Io {
                path: path.clone(),
                source,
            })?;
        // The header was bounds-checked by `open`, so candle's reader sees a sound file.
        let content =
            candle_core::quantized::gguf_file::Content::read(&mut BufReader::new(&self.file))
                .map_err(|e| Error::Corrupt {
                    path,
                    problem: e.to_string(),
                })?;
        let mut kv: Vec<(String, TypedValue)> = content.metadata.into_iter().collect();
        kv.sort_by(|a, b| {
            (a.0 != "general.architecture", &a.0).cmp(&(b.0 != "general.architecture", &b.0))
        });
        Ok(kv)
    }

    /// Reads one tensor in its stored type.
    pub fn qtensor(&mut self, name: &str, device: &Device) -> Result<QTensor> {
        let (info, bytes) = self.tensor_bytes(name)?;
        let storage = QStorage::from_data(Cow::Owned(bytes), device, info.dtype)?;
        Ok(QTensor::new(storage, info.shape)?)
    }
}

/// One tensor of a file to [`write`]: its name, shape (outermost first) and storage type.
#[derive(Debug, Clone, PartialEq)]
pub struct TensorEntry {
    /// llama.cpp's name (`blk.0.attn_q.weight`).
    pub name: String,
    /// Shape, outermost first.
    pub shape: Vec<usize>,
    /// Storage type.
    pub dtype: GgmlDType,
}

impl TensorEntry {
    /// Bytes of its data, or `None` when the rows are not a whole number of blocks.
    pub fn size(&self) -> Option<u64> {
        let block = self.dtype.block_size();
        let cols = *self.shape.last()?;
        let elems = self.shape.iter().product::<usize>();
        (cols % block == 0).then(|| (elems / block * self.dtype.type_size()) as u64)
    }
}

const ALIGNMENT: u64 = 32;

/// Writes a GGUF (version 3) file at `path`: `metadata` in order, then the tensors, whose bytes
/// `data(i)` gives one at a time (checked against each entry's size). The file is written beside
/// `path` under a `.part` name and renamed into place only when complete, so a failure leaves
/// whatever was at `path` untouched and no partial file behind. Returns the file's size.
pub fn write(
    path: &Path,
    metadata: &[(String, TypedValue)],
    tensors: &[TensorEntry],
    data: &mut dyn FnMut(usize) -> Result<Vec<u8>>,
) -> Result<u64> {
    let mut part = path.as_os_str().to_owned();
    part.push(".part");
    let part = PathBuf::from(part);
    let result = write_to(&part, metadata, tensors, data);
    let result = result.and_then(|len| {
        std::fs::rename(&part, path)
            .map(|()| len)
            .map_err(|source| Error::Io {
                path: path.to_owned(),
                source,
            })
    });
    if result.is_err() {
        let _ = std::fs::remove_file(&part);
    }
    result
}

fn write_to(
    part: &Path,
    metadata: &[(String, TypedValue)],
    tensors: &[TensorEntry],
    data: &mut dyn FnMut(usize) -> Result<Vec<u8>>,
) -> Result<u64> {
    use std::io::Write;
    let io = |source| Error::Io {
        path: part.to_owned(),
        source,
    };
    let invalid = |problem: String| Error::Config {
        path: part.to_owned(),
        problem,
    };
    let mut sizes = Vec::with_capacity(tensors.len());
    for t in tensors {
        let size = t.size().ok_or_else(|| {
            invalid(format!(
                "tensor `{}` {:?} does not split into {:?} blocks",
                t.name, t.shape, t.dtype
            ))
        })?;
        sizes.push(size);
    }
    let mut head = Vec::new();
    head.extend_from_slice(MAGIC);
    head.extend_from_slice(&3u32.to_le_bytes());
    head.extend_from_slice(&(tensors.len() as u64).to_le_bytes());
    head.extend_from_slice(&(metadata.len() as u64).to_le_bytes());
    for (key, value) in metadata {
        put_string(&mut head, key);
        head.extend_from_slice(&value_type(value).to_le_bytes());
        put_value(&mut head, value).map_err(|problem| invalid(format!("`{key}`: {problem}")))?;
    }
    let mut offset = 0u64;
    for (t, size) in tensors.iter().zip(&sizes) {
        put_string(&mut head, &t.name);
        head.extend_from_slice(&(t.shape.len() as u32).to_le_bytes());
        for d in t.shape.iter().rev() {
            head.extend_from_slice(&(*d as u64).to_le_bytes());
        }
        head.extend_from_slice(&dtype_to_u32(t.dtype).to_le_bytes());
        head.extend_from_slice(&offset.to_le_bytes());
        offset += size.div_ceil(ALIGNMENT) * ALIGNMENT;
    }
    head.resize(
        (head.len() as u64).div_ceil(ALIGNMENT) as usize * ALIGNMENT as usize,
        0,
    );
    let file = File::create(part).map_err(io)?;
    let mut w = std::io::BufWriter::with_capacity(1 << 20, file);
    w.write_all(&head).map_err(io)?;
    let mut len = head.len() as u64;
    for (i, (t, size)) in tensors.iter().zip(&sizes).enumerate() {
        let bytes = data(i)?;
        if bytes.len() as u64 != *size {
            return Err(invalid(format!(
                "tensor `{}` has {} bytes, its header says {size}",
                t.name,
                bytes.len()
            )));
        }
        w.write_all(&bytes).map_err(io)?;
        let padded = size.div_ceil(ALIGNMENT) * ALIGNMENT;
        w.write_all(&vec![0u8; (padded - size) as usize])
            .map_err(io)?;
        len += padded;
    }
    let file = w.into_inner().map_err(|e| io(e.into_error()))?;
    file.sync_all().map_err(io)?;
    Ok(len)
}

fn put_string(out: &mut Vec<u8>, s: &str) {
    out.extend_from_slice(&(s.len() as u64).to_le_bytes());
    out.extend_from_slice(s.as_bytes());
}

fn value_type(v: &TypedValue) -> u32 {
    match v.value_type() {
        ValueType::U8 => 0,
        ValueType::I8 => 1,
        ValueType::U16 => 2,
        ValueType::I16 => 3,
        ValueType::U32 => 4,
        ValueType::I32 => 5,
        ValueType::F32 => 6,
        ValueType::Bool => 7,
        ValueType::String => 8,
        ValueType::Array => 9,
        ValueType::U64 => 10,
        ValueType::I64 => 11,
        ValueType::F64 => 12,
    }
}

fn put_value(out: &mut Vec<u8>, v: &TypedValue) -> std::result::Result<(), String> {
    match v {
        TypedValue::U8(x) => out.push(*x),
        TypedValue::I8(x) => out.extend_from_slice(&x.to_le_bytes()),
        TypedValue::U16(x) => out.extend_from_slice(&x.to_le_bytes()),
        TypedValue::I16(x) => out.extend_from_slice(&x.to_le_bytes()),
        TypedValue::U32(x) => out.extend_from_slice(&x.to_le_bytes()),
        TypedValue::I32(x) => out.extend_from_slice(&x.to_le_bytes()),
        TypedValue::U64(x) => out.extend_from_slice(&x.to_le_bytes()),
        TypedValue::I64(x) => out.extend_from_slice(&x.to_le_bytes()),
        TypedValue::F32(x) => out.extend_from_slice(&x.to_le_bytes()),
        TypedValue::F64(x) => out.extend_from_slice(&x.to_le_bytes()),
        TypedValue::Bool(x) => out.push(u8::from(*x)),
        TypedValue::String(s) => put_string(out, s),
        TypedValue::Array(items) => {
            let ty = items.first().map_or(4, value_type);
            if items.iter().any(|i| value_type(i) != ty) {
                return Err("an array mixes value types".into());
            }
            out.extend_from_slice(&ty.to_le_bytes());
            out.extend_from_slice(&(items.len() as u64).to_le_bytes());
            for item in items {
                put_value(out, item)?;
            }
        }
    }
    Ok(())
}

fn dtype_to_u32(t: GgmlDType) -> u32 {
    use GgmlDType::*;
    match t {
        F32 => 0,
        F16 => 1,
        Q4_0 => 2,
        Q4_1 => 3,
        Q5_0 => 6,
        Q5_1 => 7,
        Q8_0 => 8,
        Q8_1 => 9,
        Q2K => 10,
        Q3K => 11,
        Q4K => 12,
        Q5K => 13,
        Q6K => 14,
        Q8K => 15,
        BF16 => 30,
    }
}

fn dtype_from_u32(t: u32) -> Option<GgmlDType> {
    use GgmlDType::*;
    Some(match t {
        0 => F32,
        1 => F16,
        2 => Q4_0,
        3 => Q4_1,
        6 => Q5_0,
        7 => Q5_1,
        8 => Q8_0,
        9 => Q8_1,
        10 => Q2K,
        11 => Q3K,
        12 => Q4K,
        13 => Q5K,
        14 => Q6K,
        15 => Q8K,
        30 => BF16,
        _ => return None,
    })
}

struct Reader<'a> {
    inner: BufReader<&'a File>,
    path: &'a Path,
    file_len: u64,
    pos: u64,
}

impl Reader<'_> {
    fn corrupt(&self, problem: String) -> Error {
        Error::Corrupt {
            path: self.path.to_owned(),
            problem,
        }
    }

    fn bytes_into(&mut self, buf: &mut [u8]) -> Result<()> {
        self.inner.read_exact(buf).map_err(|e| {
            if e.kind() == std::io::ErrorKind::UnexpectedEof {
                self.corrupt(format!(
                    "header ends early at byte {}: the file is truncated",
                    self.pos
                ))
            } else {
                Error::Io {
                    path: self.path.to_owned(),
                    source: e,
                }
            }
        })?;
        self.pos += buf.len() as u64;
        Ok(())
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N]> {
        let mut b = [0u8; N];
        self.bytes_into(&mut b)?;
        Ok(b)
    }
    fn u32(&mut self) -> Result<u32> {
        Ok(u32::from_le_bytes(self.array()?))
    }
    fn u64(&mut self) -> Result<u64> {
        Ok(u64::from_le_bytes(self.array()?))
    }

    /// A count of things that each take at least one byte: it cannot exceed the bytes left.
    fn count(&mut self, what: &str) -> Result<u64> {
        let n = self.u64()?;
        if n > self.file_len.saturating_sub(self.pos) {
            return Err(self.corrupt(format!("{what} {n} is larger than the file")));
        }
        Ok(n)
    }

    fn string(&mut self) -> Result<String> {
        let n = self.count("string length")?;
        let mut buf = vec![0u8; n as usize];
        self.bytes_into(&mut buf)?;
        Ok(match String::from_utf8(buf) {
            Ok(s) => s,
            Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
        })
    }

    fn value(&mut self, ty: u32, depth: u32) -> Result<Value> {
        Ok(match ty {
            0 => Value::Uint(u8::from_le_bytes(self.array()?).into()),
            1 => Value::Int(i8::from_le_bytes(self.array()?).into()),
            2 => Value::Uint(u16::from_le_bytes(self.array()?).into()),
            3 => Value::Int(i16::from_le_bytes(self.array()?).into()),
            4 => Value::Uint(self.u32()?.into()),
            5 => Value::Int(i32::from_le_bytes(self.array()?).into()),
            6 => Value::Float(f32::from_le_bytes(self.array()?).into()),
            7 => Value::Bool(self.array::<1>()?[0] != 0),
            8 => Value::String(self.string()?),
            9 => {
                if depth > 2 {
                    return Err(self.corrupt("arrays nested too deeply".into()));
                }
                let elem_ty = self.u32()?;
                let n = self.count("array length")?;
                let mut items = Vec::with_capacity(n as usize);
                for _ in 0..n {
                    items.push(self.value(elem_ty, depth + 1)?);
                }
                Value::Array(items)
            }
            10 => Value::Uint(self.u64()?),
            11 => Value::Int(i64::from_le_bytes(self.array()?)),
            12 => Value::Float(f64::from_le_bytes(self.array()?)),
            other => return Err(self.corrupt(format!("unknown metadata type {other}"))),
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn a_written_file_reads_back_with_its_types_and_tensors() {
        let tmp = std::env::temp_dir().join(format!("grimoire-gguf-{}", std::process::id()));
        std::fs::create_dir_all(&tmp).unwrap();
        let path = tmp.join("t.gguf");
        let meta = vec![
            (
                "general.architecture".to_owned(),
                TypedValue::String("llama".into()),
            ),
            ("llama.block_count".to_owned(), TypedValue::U32(1)),
            (
                "tokenizer.ggml.scores".to_owned(),
                TypedValue::Array(vec![TypedValue::F32(0.5); 3]),
            ),
            (
                "tokenizer.ggml.token_type".to_owned(),
                TypedValue::Array(vec![TypedValue::I32(3)]),
            ),
        ];
        let tensors = vec![
            TensorEntry {
                name: "a".into(),
                shape: vec![3],
                dtype: GgmlDType::F32,
            },
            TensorEntry {
                name: "b".into(),
                shape: vec![2, 32],
                dtype: GgmlDType::Q8_0,
            },
        ];
        let dense = candle_core::Tensor::arange(0f32, 64., &Device::Cpu)
            .unwrap()
            .reshape((2, 32))
            .unwrap();
        let q = QTensor::quantize(&dense, GgmlDType::Q8_0).unwrap();
        let q_bytes = q.data().unwrap().into_owned();
        let len = write(&path, &meta, &tensors, &mut |i| {
            Ok(if i == 0 {
                [1f32, 2., 3.]
                    .iter()
                    .flat_map(|v| v.to_le_bytes())
                    .collect()
            } else {
                q_bytes.clone()
            })
        })
        .unwrap();
        assert_eq!(len, std::fs::metadata(&path).unwrap().len());
        let mut g = Gguf::open(&path).unwrap();
        assert_eq!(g.u64("llama.block_count").unwrap(), 1);
        assert_eq!(g.tensors["b"].shape, vec![2, 32]);
        assert_eq!(g.tensor_bytes("b").unwrap().1, q_bytes);
        let typed = g.typed_metadata().unwrap();
        assert_eq!(format!("{typed:?}"), format!("{meta:?}"));
        // A tensor whose bytes do not match its header fails, and leaves no file behind.
        let bad = tmp.join("bad.gguf");
        assert!(write(&bad, &meta, &tensors, &mut |_| Ok(vec![0u8; 4])).is_err());
        assert!(!bad.exists() && !tmp.join("bad.gguf.part").exists());
        std::fs::remove_dir_all(&tmp).unwrap();
    }
}
