"""Reading an untrusted ``.npz`` file with memory bounded by the file's own size.

``numpy.load`` inflates a member before anything about it can be checked, so a small file
can claim gigabytes. ``NpzReader`` reads the zip directory and each member's ``.npy`` header
first: a caller compares every dtype and shape with what it expects before any data is
read, and then reads each member straight into its final array, in chunks, feeding a hash
on the way (no second copy). Only what ``numpy.savez`` writes is accepted: stored (not
compressed) members, each a C-ordered ``.npy`` of a plain dtype, so that no member can
expand beyond the bytes it occupies in the file.
"""

import io
import math
import os
import zipfile
from collections import namedtuple

import numpy as np

__all__ = ["NpzReader", "NpzError", "Header"]

MAX_HEADER = 16384  # bytes of one .npy header: numpy.savez writes 128 for a plain array
CHUNK = 1 << 20  # bytes read (and hashed) at a time

Header = namedtuple("Header", ["dtype", "shape", "offset"])
Header.__doc__ = """What a member's ``.npy`` header declares: its dtype, its shape and the
byte offset at which its data starts."""


class NpzError(ValueError):
    """The file is not a zip of ``.npy`` members that ``NpzReader`` accepts."""


class NpzReader:
    """The members of an ``.npz`` file open for reading, checked before any data is read.

    Parameters
    ----------
    file : binary file object
        Open for reading, seekable; it stays open (and owned by the caller).
    max_members : int
        More members than this are refused before any is opened.

    Raises
    ------
    NpzError
        Not a zip file, a member that is compressed, not named ``*.npy``, named twice, or
        members that together claim more bytes than the file holds.
    """

    def __init__(self, file, max_members=64):
        size = os.fstat(file.fileno()).st_size
        try:
            self._zip = zipfile.ZipFile(file)
        except (zipfile.BadZipFile, OSError, EOFError, ValueError) as exc:
            raise NpzError(f"not a zip file ({exc})") from None
        infos = self._zip.infolist()
        if len(infos) > max_members:
            raise NpzError(f"{len(infos)} members, more than the {max_members} expected")
        self._infos = {}
        for info in infos:
            name = info.filename
            if not name.endswith(".npy") or name[:-4] in self._infos:
                raise NpzError(f"member {name!r} is not a .npy array or appears twice")
            if info.compress_type != zipfile.ZIP_STORED or info.compress_size != info.file_size:
                raise NpzError(f"member {name[:-4]!r} is compressed; only stored members are read, "
                               "so that none can inflate beyond its size in the file")
            self._infos[name[:-4]] = info
        if sum(info.file_size for info in infos) > size:
            raise NpzError(f"its members claim {sum(i.file_size for i in infos)} bytes, more "
                           f"than the file's {size}")
        self._headers = {}

    @property
    def names(self):
        """The array names (member names without ``.npy``), in file order."""
        return list(self._infos)

    def header(self, name):
        """The ``Header`` of member ``name``: read from at most ``MAX_HEADER`` bytes, and
        checked against the member's size in the zip directory.

        Raises
        ------
        NpzError
            An unreadable header, an object or Fortran-ordered array, or a data size that
            differs from what the dtype and shape need.
        """
        if name not in self._headers:
            info = self._infos[name]
            try:
                with self._zip.open(info) as f:
                    magic = f.read(8)
                    width = {b"\x01\x00": 2, b"\x02\x00": 4}.get(magic[6:])
                    if magic[:6] != b"\x93NUMPY" or width is None:
                        raise ValueError("not a .npy array of version 1 or 2")
                    size = f.read(width)
                    length = int.from_bytes(size, "little")
                    if length > MAX_HEADER:
                        raise ValueError(f"a header of {length} bytes, more than {MAX_HEADER}")
                    read = (np.lib.format.read_array_header_1_0 if width == 2
                            else np.lib.format.read_array_header_2_0)
                    shape, fortran, dtype = read(io.BytesIO(size + f.read(length)))
                    offset = 8 + width + length
            except (ValueError, OSError, EOFError, zipfile.BadZipFile) as exc:
                raise NpzError(f"member {name!r} has no readable .npy header ({exc})") from None
            if dtype.hasobject or dtype.fields is not None or dtype.subdtype is not None:
                raise NpzError(f"member {name!r} holds {dtype}, not plain numbers or text")
            if fortran:
                raise NpzError(f"member {name!r} is stored in Fortran order")
            nbytes = math.prod(shape) * dtype.itemsize
            if info.file_size != offset + nbytes:
                raise NpzError(f"member {name!r} holds {info.file_size - offset} bytes of data, "
                               f"but its header declares {dtype.str} {shape} ({nbytes} bytes)")
            self._headers[name] = Header(dtype, tuple(shape), offset)
        return self._headers[name]

    def read(self, name, hasher=None):
        """The array of member ``name``, read in chunks into a new array of its declared
        dtype and shape; each chunk also goes to ``hasher.update`` if given.

        Raises
        ------
        NpzError
            The member ends early or fails its CRC check.
        """
        header = self.header(name)
        out = np.empty(header.shape, header.dtype)
        view = memoryview(out.reshape(-1).view(np.uint8))
        try:
            with self._zip.open(self._infos[name]) as f:
                f.read(header.offset)  # the header again: reading on keeps the CRC running
                done = 0
                while done < len(view):
                    n = f.readinto(view[done:done + CHUNK])
                    if not n:
                        raise EOFError("the data ends early")
                    if hasher is not None:
                        hasher.update(view[done:done + n])
                    done += n
                f.read(1)  # at the end: the zip's CRC check runs
        except (OSError, EOFError, zipfile.BadZipFile) as exc:
            raise NpzError(f"member {name!r} cannot be read ({exc})") from None
        return out
