"""CSV files: header detection, the label column, dropped columns and one-line errors that
count lines and columns as an editor does."""

import gzip

import numpy as np
import pytest

import layerwise as lw
from layerwise.data import load, load_csv
from layerwise.nn.config import TrainConfig, parse_setting


def write(tmp_path, text, name="d.csv"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_a_header_is_detected_and_a_file_without_one_works(tmp_path):
    with_header = write(tmp_path, "a,b,label\n1,2,0\n3,4,1\n", "h.csv")
    without = write(tmp_path, "1,2,0\n3,4,1\n", "n.csv")
    for path in (with_header, without):
        X, y, _ = load_csv(path, label_column=-1)
        assert X.tolist() == [[1, 2], [3, 4]] and y.tolist() == [0, 1]


def test_a_header_of_numbers_but_a_named_label_cell_is_a_header(tmp_path):
    path = write(tmp_path, "y,0,1\n1,5,6\n0,7,8\n")  # pixel columns named by number
    X, y, _ = load_csv(path)
    assert X.tolist() == [[5, 6], [7, 8]] and y.tolist() == [1, 0]


def test_string_labels_in_the_first_row_are_data(tmp_path):
    X, y, classes = load_csv(write(tmp_path, "5.1,3.5,setosa\n6.2,2.9,virginica\n"), label_column=-1)
    assert len(X) == 2 and classes == ["setosa", "virginica"]


def test_a_text_value_names_its_line_column_and_the_label_option(tmp_path):
    path = write(tmp_path, "a,b,species\n1,2,3\n4,5,6\n7,8,9\n1,2,setosa\n")
    with pytest.raises(lw.LayerwiseError) as e:
        load_csv(path)
    message = str(e.value)
    assert "line 5, column 3 ('species'): 'setosa' is not a number" in message
    assert "give --label-column species" in message and "\n" not in message


def test_line_numbers_count_the_header_and_blank_lines(tmp_path):
    path = write(tmp_path, "label,x,y\n1,2,3\n\n0,,3\n")
    with pytest.raises(lw.LayerwiseError, match=r"line 4, column 2 \('x'\): is empty"):
        load_csv(path)
    with pytest.raises(lw.LayerwiseError, match="line 3 has 2 columns, not 3"):
        load_csv(write(tmp_path, "1,2,3\n0,1,2\n1,2\n"))
    with pytest.raises(lw.LayerwiseError, match="line 3 has 4 columns, not 3"):
        load_csv(write(tmp_path, "1,2,3\n0,1,2\n1,2,3,4\n"))


def test_drop_columns_by_name_and_index(tmp_path):
    path = write(tmp_path, "id,a,b,label\nx1,1,2,0\nx2,3,4,1\n")
    X, _, _ = load_csv(path, label_column="label", drop_columns=("id",))
    assert X.tolist() == [[1, 2], [3, 4]]
    X, _, _ = load_csv(path, label_column=3, drop_columns=(0, 2))
    assert X.tolist() == [[1], [3]]
    with pytest.raises(lw.LayerwiseError, match="label column"):
        load_csv(path, label_column="label", drop_columns=("label",))
    with pytest.raises(lw.LayerwiseError, match="no column named 'ID'"):
        load_csv(path, label_column="label", drop_columns=("ID",))
    data = load(str(path), label_column="label", drop_columns=("id",))
    assert data.n_features == 2
    with pytest.raises(lw.LayerwiseError, match="CSV files only"):
        load("digits", drop_columns=(0,))


def test_drop_columns_is_a_setting(tmp_path):
    assert TrainConfig().drop_columns == () and parse_setting("drop_columns", "none") == ()
    assert parse_setting("drop_columns", "id, 2,-1") == ("id", 2, -1)
    config = TrainConfig(drop_columns="id,3")
    assert config.drop_columns == ("id", 3)
    assert TrainConfig.from_dict(config.to_dict()).drop_columns == ("id", 3)


def test_gzipped_and_quoted(tmp_path):
    (tmp_path / "d.csv.gz").write_bytes(gzip.compress(b'"label","x"\n"cat","0.5"\n"dog","1"\n'))
    X, y, classes = load_csv(tmp_path / "d.csv.gz")
    assert X.ravel().tolist() == [0.5, 1] and classes == ["cat", "dog"] and y.tolist() == [0, 1]


def test_a_large_file_is_read_once(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(2000, 5)).astype(np.float32)
    path = tmp_path / "big.csv"
    np.savetxt(path, np.column_stack([np.arange(2000) % 3, X]), delimiter=",", fmt="%.7g")
    got, y, _ = load_csv(path)
    assert np.allclose(got, X, rtol=1e-6) and y.tolist() == (np.arange(2000) % 3).tolist()
