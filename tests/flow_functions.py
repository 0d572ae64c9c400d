"""Task functions registered from code by the tests (not a trusted module)."""


def fetch_data1():
    """Fetch the first dataset."""
    return [1, 2]


def fetch_data2():
    """Fetch the second dataset."""
    return [3, 4]


def clean_data():
    """Clean the data."""
    return "clean"


def train_model():
    """Gather the nested tasks' results."""
    return "model"


def split():
    return "split"


def fit():
    return "fit"


def decorated(func):
    def wrapper(*args, **kwargs):
        return func(*args, **kwargs)

    return wrapper


@decorated
def wrapped_task():
    return None


def shadowed():
    return "first"


first_shadowed = shadowed


def shadowed():  # noqa: F811 -- replaces the first on purpose
    return "second"
