//! A bounds-checked reader for GGUF files (the llama.cpp format).
//!
//! candle ships a reader too, but it trusts the lengths it reads: a corrupt string length makes it
//! allocate whatever the file says. This one checks every length against the file size, so a bad
//! download gives [`Error::Corrupt`] naming the file, never a panic or an abort.
//!
//! Layout (v2/v3): magic `GGUF`, version, tensor count, metadata count, metadata key/values, tensor
//! infos (name, dims innermost first, type, offset), padding to `general.alignment`, tensor data.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use candle_core::Device;
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

    /// Reads one tensor in its stored type.
    pub fn qtensor(&mut self, name: &str, device: &Device) -> Result<QTensor> {
        let (info, bytes) = self.tensor_bytes(name)?;
        let storage = QStorage::from_data(Cow::Owned(bytes), device, info.dtype)?;
        Ok(QTensor::new(storage, info.shape)?)
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
