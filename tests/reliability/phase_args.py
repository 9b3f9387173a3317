"""placeholder"""
async def run(c):
    raise NotImplementedError
